import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { DEFAULT_DEAD_LETTER_SUBJECT_PREFIX } from '../consumer/consumerOptions.js';

export interface PurgeDeadLettersOptions {
  stream: string;
  /** @defaultValue `dlq` */
  subjectPrefix?: string;
  /** Only this consumer's dead letters; all when omitted. */
  consumer?: string;
}

/** Deletes dead letters for good; returns how many. */
export async function purgeDeadLetters(
  nc: NatsConnection,
  options: PurgeDeadLettersOptions,
): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const prefix = options.subjectPrefix ?? DEFAULT_DEAD_LETTER_SUBJECT_PREFIX;
  const response = await jsm.streams.purge(options.stream, {
    filter: `${prefix}.${options.consumer ?? '*'}.>`,
  });
  return response.purged;
}
