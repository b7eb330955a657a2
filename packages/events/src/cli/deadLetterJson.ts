import type { DeadLetter } from '../dlq/DeadLetter.js';

/** A dead letter's list entry in `--json` output and the console's API. */
export function deadLetterSummary(l: DeadLetter) {
  return {
    seq: l.seq,
    consumer: l.consumer,
    type: l.type,
    eventId: l.eventId,
    reason: l.reason,
    error: l.error,
    deliveryCount: l.deliveryCount,
    originalSubject: l.originalSubject,
    deadLetteredAt: l.deadLetteredAt.toISOString(),
  };
}

/** Everything about one dead letter; the body as UTF-8 text. */
export function deadLetterDetail(l: DeadLetter) {
  const headers = Object.fromEntries([...(l.headers ?? [])].map(([k, v]) => [k, v.join(', ')]));
  return {
    ...deadLetterSummary(l),
    stack: l.stack,
    headers,
    body: new TextDecoder().decode(l.data),
  };
}
