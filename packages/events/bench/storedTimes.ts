import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * When JetStream stored each message from `fromSeq` on (its own timestamp, taken as it stores the
 * message, just before the PubAck), by partition key. Read after the phase, so that measuring
 * adds no work while it runs; the server's clock is this machine's.
 */
export async function storedTimes(
  nc: NatsConnection,
  stream: string,
  fromSeq: number,
): Promise<Map<string, number>> {
  const lastSeq = (await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq;
  const times = new Map<string, number>();
  if (lastSeq < fromSeq) return times;
  const consumer = await jetstream(nc).consumers.get(stream, { opt_start_seq: fromSeq });
  const messages = await consumer.consume({ max_messages: 1000 });
  const deadline = setTimeout(() => messages.stop(), 60_000);
  for await (const m of messages) {
    const key = m.headers?.get('ce-partitionkey');
    if (key) times.set(key, Number(m.info.timestampNanos) / 1e6);
    if (m.seq >= lastSeq) break;
  }
  clearTimeout(deadline);
  messages.stop();
  return times;
}
