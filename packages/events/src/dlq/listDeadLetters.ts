import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { DEFAULT_DEAD_LETTER_SUBJECT_PREFIX } from '../consumer/consumerOptions.js';
import { toDeadLetter, type DeadLetter } from './DeadLetter.js';

/** Which dead letters to read. */
export interface ListDeadLettersOptions {
  /** The dead-letter stream. */
  stream: string;
  /** @defaultValue `dlq` */
  subjectPrefix?: string;
  /** Only this consumer's dead letters (filtered at the server). */
  consumer?: string;
  /** Only events of this CloudEvent type. */
  type?: string;
  /** Only this reason (`max-deliveries`, `invalid-data`, …). */
  reason?: string;
  /** Only dead letters stored at or after this time. */
  since?: Date;
  until?: Date;
  /** Stop after this many matches. @defaultValue 1000 */
  limit?: number;
}

export const DEFAULT_DEAD_LETTER_LIST_LIMIT = 1000;
const FETCH_BATCH = 256;

/**
 * Reads dead letters in stream order, without changing anything: an ordered consumer
 * filtered on `<prefix>.<consumer>.>` that starts at `since`.
 */
export async function listDeadLetters(
  nc: NatsConnection,
  options: ListDeadLettersOptions,
): Promise<DeadLetter[]> {
  const prefix = options.subjectPrefix ?? DEFAULT_DEAD_LETTER_SUBJECT_PREFIX;
  const limit = options.limit ?? DEFAULT_DEAD_LETTER_LIST_LIMIT;
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(options.stream);
  if (state.messages === 0) return [];
  const lastSeq = state.last_seq;
  const consumer = await jetstream(nc).consumers.get(options.stream, {
    filter_subjects: `${prefix}.${options.consumer ?? '*'}.>`,
    ...(options.since
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: options.since.toISOString() }
      : {}),
  });
  const out: DeadLetter[] = [];
  try {
    for (;;) {
      const pending = (await consumer.info(false)).num_pending;
      if (pending === 0) break;
      const batch = await consumer.fetch({
        max_messages: Math.min(pending, FETCH_BATCH),
        expires: 2000,
      });
      let got = 0;
      let done = false;
      for await (const msg of batch) {
        got++;
        if (msg.seq > lastSeq) done = true;
        const letter = toDeadLetter(msg);
        if (options.until && letter.deadLetteredAt > options.until) done = true;
        if (!done && matches(letter, options)) out.push(letter);
        if (out.length >= limit) done = true;
      }
      if (done || got === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return out;
}

function matches(letter: DeadLetter, options: ListDeadLettersOptions): boolean {
  if (options.type !== undefined && letter.type !== options.type) return false;
  if (options.reason !== undefined && letter.reason !== options.reason) return false;
  return true;
}
