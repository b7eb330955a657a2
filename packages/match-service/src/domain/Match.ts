import { AggregateRoot } from '@jetbox/events';
import type { MatchCancelledV2 } from '@jetbox/schemas';
import { ArrayType, EntitySchema } from '@mikro-orm/core';
import { v7 as uuidv7 } from 'uuid';

export type MatchStatus = 'active' | 'cancelled';
export type CancelReason = MatchCancelledV2['reason'];
export type CancelReasonCode = CancelReason['code'];

/** Two users paired by the matcher. Every state change records its event in the same flush. */
export class Match extends AggregateRoot {
  id: string = uuidv7();
  userIds!: [string, string];
  region!: string;
  status: MatchStatus = 'active';
  createdAt: Date = new Date();
  cancelledAt?: Date | null;
  reasonCode?: CancelReasonCode | null;
  reasonNote?: string | null;

  get aggregateType(): string {
    return 'match';
  }
  get aggregateId(): string {
    return this.id;
  }

  static create(userIds: [string, string], region: string): Match {
    const match = new Match();
    match.userIds = userIds;
    match.region = region;
    match.recordEvent('com.jetbox.match.created', { matchId: match.id, userIds, region });
    return match;
  }

  /** Cancels an active match; returns false (and records nothing) when it already was. */
  cancel(reason: CancelReason, now = new Date()): boolean {
    if (this.status === 'cancelled') return false;
    this.status = 'cancelled';
    this.cancelledAt = now;
    this.reasonCode = reason.code;
    this.reasonNote = reason.note ?? null;
    this.recordEvent('com.jetbox.match.cancelled', {
      matchId: this.id,
      userIds: this.userIds,
      reason,
    });
    return true;
  }
}

// The getters are not persistent properties, so the schema describes the columns only.
export const MatchSchema = new EntitySchema<Omit<Match, 'aggregateType' | 'aggregateId'>>({
  class: Match,
  tableName: 'matches',
  properties: {
    id: { type: 'uuid', primary: true },
    userIds: { type: ArrayType, columnType: 'uuid[]' },
    region: { type: 'text' },
    status: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    cancelledAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    reasonCode: { type: 'text', nullable: true },
    reasonNote: { type: 'text', nullable: true },
  },
});
