import type { MsgHdrs } from '@nats-io/nats-core';
import { DeadLetterHeader } from '../consumer/deadLetterHeaders.js';

/** A message in the dead-letter stream, with what jetbox recorded about its failure. */
export interface DeadLetter {
  /** Sequence in the dead-letter stream; what `show`, `redrive` and `purge` take. */
  seq: number;
  /** `dlq.<consumer>.<original subject>` */
  subject: string;
  consumer: string;
  reason: string;
  error: string;
  stack: string;
  originalStream: string;
  originalSubject: string;
  originalSequence: number;
  deliveryCount: number;
  /** When the original was stored in its stream. */
  originalTime: Date | undefined;
  deadLetteredAt: Date;
  /** CloudEvent `id` and `type`, when the message had them as binary-mode headers. */
  eventId: string | undefined;
  type: string | undefined;
  headers: MsgHdrs | undefined;
  data: Uint8Array;
}

/** Reads the `Jetbox-Dlq-*` headers of a stored dead letter. */
export function toDeadLetter(msg: {
  seq: number;
  subject: string;
  headers: MsgHdrs | undefined;
  data: Uint8Array;
  time: Date;
}): DeadLetter {
  const get = (name: string) => header(msg.headers, name);
  const time = get(DeadLetterHeader.Time);
  const at = get(DeadLetterHeader.DeadLetteredAt);
  return {
    seq: msg.seq,
    subject: msg.subject,
    consumer: get(DeadLetterHeader.Consumer) ?? '',
    reason: get(DeadLetterHeader.Reason) ?? '',
    error: get(DeadLetterHeader.Error) ?? '',
    stack: get(DeadLetterHeader.Stack) ?? '',
    originalStream: get(DeadLetterHeader.Stream) ?? '',
    originalSubject: get(DeadLetterHeader.Subject) ?? '',
    originalSequence: Number(get(DeadLetterHeader.StreamSequence) ?? 0),
    deliveryCount: Number(get(DeadLetterHeader.DeliveryCount) ?? 0),
    originalTime: time === undefined ? undefined : new Date(time),
    deadLetteredAt: at === undefined ? msg.time : new Date(at),
    eventId: get('ce-id'),
    type: get('ce-type'),
    headers: msg.headers,
    data: msg.data,
  };
}

/** A header by name, in any case: producers and proxies do not agree on case. */
export function header(headers: MsgHdrs | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  const lower = name.toLowerCase();
  for (const [key, values] of headers) {
    if (key.toLowerCase() === lower) return values[0];
  }
  return undefined;
}
