import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { ConsumerOptions } from './consumerOptions.js';

/**
 * The durable consumer's configuration. JetStream's own `max_deliver` is unlimited: the
 * consumer dead-letters a message itself, after its last attempt or on a delivery beyond
 * `maxDeliver` (attempts that all died with their process, or a message handed back at every
 * stop). A server-side limit would instead leave such a message unacknowledged and never
 * delivered again: silently stuck.
 */
export function consumerConfig(
  options: Pick<
    ConsumerOptions,
    'name' | 'subjects' | 'maxDeliver' | 'ackWaitMs' | 'maxAckPending'
  >,
): Partial<ConsumerConfig> {
  const config: Partial<ConsumerConfig> = {
    durable_name: options.name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_deliver: -1,
    ack_wait: nanos(options.ackWaitMs),
    max_ack_pending: options.maxAckPending,
  };
  if (options.subjects.length === 1) config.filter_subject = options.subjects[0];
  else if (options.subjects.length > 1) config.filter_subjects = options.subjects;
  return config;
}

/**
 * Creates the durable pull consumer, or updates the settings that may change on an existing
 * one. Safe to run from many processes at once.
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  options: Parameters<typeof consumerConfig>[0],
): Promise<{ action: 'created' | 'updated' | 'unchanged'; info: ConsumerInfo }> {
  const wanted = consumerConfig(options);
  let existing: ConsumerInfo | undefined;
  try {
    existing = await jsm.consumers.info(stream, options.name);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) {
      throw err;
    }
  }
  if (existing === undefined) {
    // Another process may create it between info and add; adding an identical config succeeds.
    return { action: 'created', info: await jsm.consumers.add(stream, wanted) };
  }
  const c = existing.config;
  const same =
    c.max_deliver === wanted.max_deliver &&
    c.ack_wait === wanted.ack_wait &&
    c.max_ack_pending === wanted.max_ack_pending &&
    (c.filter_subject || undefined) === wanted.filter_subject &&
    JSON.stringify(c.filter_subjects ?? []) === JSON.stringify(wanted.filter_subjects ?? []);
  if (same) return { action: 'unchanged', info: existing };
  // nats.js lays the update over the existing config: both filters are set, a missing one as
  // undefined (left out of the request), so a filter the options dropped is removed, not kept.
  const update: Partial<ConsumerConfig> = {
    max_deliver: wanted.max_deliver,
    ack_wait: wanted.ack_wait,
    max_ack_pending: wanted.max_ack_pending,
    filter_subject: wanted.filter_subject,
    filter_subjects: wanted.filter_subjects,
  };
  return { action: 'updated', info: await jsm.consumers.update(stream, options.name, update) };
}
