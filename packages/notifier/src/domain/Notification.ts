import { EntitySchema } from '@mikro-orm/core';
import { v7 as uuidv7 } from 'uuid';

/** What a user was told: one row per user per match event. */
export class Notification {
  id: string = uuidv7();
  /** The CloudEvent that caused it; with `userId`, unique. */
  eventId!: string;
  userId!: string;
  /** The CloudEvent type, e.g. `com.jetbox.match.created`. */
  type!: string;
  matchId!: string;
  createdAt: Date = new Date();

  static of(input: {
    eventId: string;
    userId: string;
    type: string;
    matchId: string;
  }): Notification {
    return Object.assign(new Notification(), input);
  }

  /** The idempotency key a receiver of this notification can deduplicate on. */
  idempotencyKey(): string {
    return `${this.eventId}:${this.userId}`;
  }

  toJSON() {
    return {
      id: this.id,
      eventId: this.eventId,
      type: this.type,
      matchId: this.matchId,
      createdAt: this.createdAt.toISOString(),
    };
  }
}

export const NotificationSchema = new EntitySchema<Notification>({
  class: Notification,
  tableName: 'notifications',
  properties: {
    id: { type: 'uuid', primary: true },
    eventId: { type: 'uuid' },
    userId: { type: 'uuid' },
    type: { type: 'text' },
    matchId: { type: 'uuid' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
