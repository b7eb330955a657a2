import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { JetboxError, JetboxErrorCode } from '../errors.js';
import { toDeadLetter, type DeadLetter } from './DeadLetter.js';

/** One dead letter by its sequence in the dead-letter stream; fails with `NOT_FOUND`. */
export async function showDeadLetter(
  nc: NatsConnection,
  stream: string,
  seq: number,
): Promise<DeadLetter> {
  const jsm = await jetstreamManager(nc);
  const msg = await jsm.streams.getMessage(stream, { seq }).catch((err: unknown) => {
    if (/no message found/i.test(String(err))) return null;
    throw err;
  });
  if (msg === null) {
    throw new JetboxError(JetboxErrorCode.NotFound, `no dead letter ${seq} in stream ${stream}`);
  }
  return toDeadLetter({
    seq: msg.seq,
    subject: msg.subject,
    headers: msg.header,
    data: msg.data,
    time: msg.time,
  });
}
