import { EntitySchema } from '@mikro-orm/core';

export type OutboxStatus = 'pending' | 'published' | 'failed';

/** A row of `jetbox_outbox`: one CloudEvent waiting for (or done with) the relay. */
export interface OutboxMessage {
  /** The CloudEvent id (UUIDv7), also the `Nats-Msg-Id`. */
  id: string;
  seq?: string;
  aggregateType: string;
  aggregateId: string;
  partition: number;
  type: string;
  source: string;
  dataschema: string;
  natsSubject: string;
  headers: Record<string, string>;
  data: unknown;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastError?: string | null;
  createdAt: Date;
  publishedAt?: Date | null;
  streamSeq?: string | null;
}

export const OutboxMessageSchema = new EntitySchema<OutboxMessage>({
  name: 'JetboxOutboxMessage',
  tableName: 'jetbox_outbox',
  properties: {
    id: { type: 'uuid', primary: true },
    seq: { type: 'bigint', persist: false, nullable: true },
    aggregateType: { type: 'text' },
    aggregateId: { type: 'text' },
    partition: { type: 'integer' },
    type: { type: 'text' },
    source: { type: 'text' },
    dataschema: { type: 'text' },
    natsSubject: { type: 'text' },
    headers: { type: 'json' },
    data: { type: 'json' },
    status: { type: 'text' },
    attempts: { type: 'integer' },
    nextAttemptAt: { type: 'Date', columnType: 'timestamptz' },
    lastError: { type: 'text', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    publishedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    streamSeq: { type: 'bigint', nullable: true },
  },
});
