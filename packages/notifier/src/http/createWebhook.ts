import { NonRetryableError } from '@jetbox/events';
import type { Notification } from '../domain/Notification.js';
import type { ResilientHttp } from './createResilientHttp.js';

/** Header that lets the receiver drop a repeated delivery: `<event id>:<user id>`. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

export interface Webhook {
  /**
   * POSTs the notification as JSON (`{ id, eventId, type, matchId, createdAt, userId }`). A
   * delivery may repeat (a retry after a crash); the idempotency key stays the same.
   */
  deliver(notification: Notification, signal: AbortSignal): Promise<void>;
}

export function createWebhook(url: string, http: ResilientHttp): Webhook {
  return {
    async deliver(notification, signal) {
      const response = await http.fetch(
        url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [IDEMPOTENCY_KEY_HEADER]: notification.idempotencyKey(),
          },
          body: JSON.stringify({ ...notification.toJSON(), userId: notification.userId }),
        },
        signal,
      );
      if (!response.ok) {
        throw new NonRetryableError(
          `webhook ${url} refused the notification: HTTP ${response.status}`,
        );
      }
    },
  };
}
