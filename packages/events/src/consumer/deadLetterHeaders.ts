import { headers as createHeaders, type MsgHdrs } from '@nats-io/nats-core';

/** Why a message was dead-lettered. */
export type DeadLetterReason =
  | 'decode-failed'
  | 'invalid-event'
  | 'unknown-type'
  | 'invalid-data'
  | 'non-retryable'
  | 'max-deliveries';

/** Headers jetbox adds to a dead letter, next to the original message's headers. */
export const DeadLetterHeader = {
  Reason: 'Jetbox-Dlq-Reason',
  Error: 'Jetbox-Dlq-Error',
  Stack: 'Jetbox-Dlq-Stack',
  Consumer: 'Jetbox-Dlq-Consumer',
  Stream: 'Jetbox-Dlq-Stream',
  Subject: 'Jetbox-Dlq-Subject',
  StreamSequence: 'Jetbox-Dlq-Stream-Seq',
  DeliveryCount: 'Jetbox-Dlq-Delivery-Count',
  Time: 'Jetbox-Dlq-Time',
  DeadLetteredAt: 'Jetbox-Dlq-At',
  MsgId: 'Jetbox-Dlq-Msg-Id',
} as const;

/** What is known about the message being dead-lettered. */
export interface DeadLetterSource {
  headers: MsgHdrs | undefined;
  subject: string;
  stream: string;
  streamSequence: number;
  /** Attempts made, in-process retries included. */
  deliveryCount: number;
  /** When the original was stored in its stream. */
  time: Date;
}

const MAX_ERROR_CHARS = 1000;
const STACK_FRAMES = 5;

/** `dlq.<consumer>.<original subject>` */
export function deadLetterSubject(prefix: string, consumer: string, subject: string): string {
  return `${prefix}.${consumer}.${subject}`;
}

/**
 * The original headers plus the `Jetbox-Dlq-*` ones. `Nats-*` headers are not copied: an
 * original `Nats-Msg-Id` (the event id) would make the dead-letter stream drop the dead letter
 * of a second consumer as a duplicate, and `Nats-Expected-*` would fail the publish. The
 * original id is kept in `Jetbox-Dlq-Msg-Id`.
 */
export function deadLetterHeaders(
  source: DeadLetterSource,
  consumer: string,
  reason: DeadLetterReason,
  error: Error,
): MsgHdrs {
  const out = createHeaders();
  if (source.headers !== undefined) {
    for (const [key, values] of source.headers) {
      const lower = key.toLowerCase();
      if (lower === 'nats-msg-id') {
        if (values[0] !== undefined) out.set(DeadLetterHeader.MsgId, values[0]);
        continue;
      }
      if (lower.startsWith('nats-') || lower.startsWith('jetbox-dlq-')) continue;
      for (const value of values) out.append(key, value);
    }
  }
  out.set(DeadLetterHeader.Reason, reason);
  out.set(DeadLetterHeader.Error, oneLine(`${error.name}: ${error.message}`, MAX_ERROR_CHARS));
  out.set(DeadLetterHeader.Stack, stackSummary(error));
  out.set(DeadLetterHeader.Consumer, consumer);
  out.set(DeadLetterHeader.Stream, source.stream);
  out.set(DeadLetterHeader.Subject, source.subject);
  out.set(DeadLetterHeader.StreamSequence, String(source.streamSequence));
  out.set(DeadLetterHeader.DeliveryCount, String(source.deliveryCount));
  out.set(DeadLetterHeader.Time, source.time.toISOString());
  out.set(DeadLetterHeader.DeadLetteredAt, new Date().toISOString());
  return out;
}

/** The first frames of the stack, `|`-separated: enough to find the throw site. */
function stackSummary(error: Error): string {
  const frames = (error.stack ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('at '))
    .slice(0, STACK_FRAMES);
  return oneLine(frames.join(' | ') || '(no stack)', MAX_ERROR_CHARS);
}

/** Header values cannot hold CR or LF. */
function oneLine(text: string, max: number): string {
  const flat = text.replace(/[\r\n]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat || '(empty)';
}
