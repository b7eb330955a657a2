import type { JetStreamManager } from '@nats-io/jetstream';

/** What `jetbox consumers ls` and the console show of one durable consumer. */
export interface ConsumerStats {
  name: string;
  /** The consumer's subject filter; empty when it reads the whole stream. */
  filter: string;
  /** Messages not yet delivered: the consumer's lag. */
  pending: number;
  /** Delivered and not yet acknowledged. */
  ackPending: number;
  redelivered: number;
  /** Pull requests waiting for messages. */
  waiting: number;
}

/** Every durable consumer of `stream`, in the server's order. */
export async function consumerStats(
  jsm: JetStreamManager,
  stream: string,
): Promise<ConsumerStats[]> {
  const out: ConsumerStats[] = [];
  for await (const c of jsm.consumers.list(stream)) {
    out.push({
      name: c.name,
      filter: c.config.filter_subject ?? '',
      pending: c.num_pending,
      ackPending: c.num_ack_pending,
      redelivered: c.num_redelivered,
      waiting: c.num_waiting,
    });
  }
  return out;
}
