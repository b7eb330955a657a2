import { RetryLaterError, type EventHandlers, type HandlerContext } from '@jetbox/events';
import type { Counter } from 'prom-client';
import { Notification } from './domain/Notification.js';
import type { MatchClient } from './http/createMatchClient.js';
import type { Webhook } from './http/createWebhook.js';

export interface NotificationHandlerDeps {
  matches: MatchClient;
  webhook?: Webhook;
  /** Counts notifications created, by event type. */
  created: Counter<'type'>;
  /** See {@link DEFAULT_ORDER_WAIT_MS}. */
  orderWaitMs?: number;
}

/**
 * One handler per match event: fetch the match from match-service (the events carry ids only),
 * then one notification per user, written with the inbox row in the consumer's transaction.
 * The consumer handles one match's events one at a time in stream order, so a user's
 * "created" notification always precedes its "cancelled". With a webhook, each notification
 * is delivered before the transaction commits: a failed delivery rolls the notifications back
 * and the event is retried (the receiver deduplicates on the idempotency key).
 */
export function notificationHandlers(deps: NotificationHandlerDeps): EventHandlers {
  async function notify(type: string, matchId: string, ctx: HandlerContext): Promise<void> {
    if (type === CANCELLED) {
      await requireCreatedNotified(matchId, ctx, deps.orderWaitMs ?? DEFAULT_ORDER_WAIT_MS);
    }
    const match = await deps.matches.get(matchId, ctx.signal);
    const notifications = match.userIds.map((userId) =>
      Notification.of({ eventId: ctx.event.id, userId, type, matchId }),
    );
    await ctx.em.persist(notifications).flush();
    if (deps.webhook) {
      for (const n of notifications) await deps.webhook.deliver(n, ctx.signal);
    }
    deps.created.inc({ type }, notifications.length);
  }
  return {
    'com.jetbox.match.created': (data, ctx) => notify(CREATED, data.matchId, ctx),
    'com.jetbox.match.cancelled': (data, ctx) => notify(CANCELLED, data.matchId, ctx),
  };
}

const CREATED = 'com.jetbox.match.created';
const CANCELLED = 'com.jetbox.match.cancelled';

/**
 * How long a "cancelled" waits for its match's "created" before its waits count as failed
 * attempts (and it is dead-lettered after them). @defaultValue 10 minutes
 */
export const DEFAULT_ORDER_WAIT_MS = 10 * 60_000;
/** How often a waiting "cancelled" looks again. */
const ORDER_RETRY_MS = 1000;

/**
 * One instance handles a match's events in stream order, but several instances (scaled by
 * KEDA) share the durable consumer, so one may get "cancelled" while another still works on
 * "created", or holds it back through a match-service outage. Until "created" is notified,
 * "cancelled" is deferred (`RetryLaterError`: no attempt used, never dead-lettered for
 * waiting). Only an event older than `orderWaitMs` whose "created" is still missing fails as a
 * counted attempt, so one whose "created" was dead-lettered ends up beside it.
 */
async function requireCreatedNotified(
  matchId: string,
  ctx: HandlerContext,
  orderWaitMs: number,
): Promise<void> {
  const created = await ctx.em.count(Notification, { matchId, type: CREATED });
  if (created > 0) return;
  const message = `match ${matchId}: "created" is not notified yet; "cancelled" waits for it`;
  const recordedAt = Date.parse(ctx.event.time ?? '');
  if (Number.isFinite(recordedAt) && Date.now() - recordedAt > orderWaitMs) {
    throw new Error(`${message} (for more than ${orderWaitMs} ms: giving up waiting)`);
  }
  throw new RetryLaterError(message, { delayMs: ORDER_RETRY_MS });
}
