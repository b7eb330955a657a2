import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as createHeaders, type NatsConnection } from '@nats-io/nats-core';
import { JetboxError } from '../errors.js';
import type { DeadLetter } from './DeadLetter.js';
import { listDeadLetters, type ListDeadLettersOptions } from './listDeadLetters.js';
import { showDeadLetter } from './showDeadLetter.js';

/** Which dead letters to send back: the ones at `seqs`, else all that match the filters. */
export interface RedriveDeadLettersOptions extends ListDeadLettersOptions {
  seqs?: number[];
  /** Called after each dead letter is back in its stream and removed from the dead letters. */
  onProgress?: (done: number, total: number, letter: DeadLetter) => void;
}

export interface RedriveResult {
  redriven: number;
  /** Redriven before (a re-run after an interruption): the events stream dropped the copy. */
  duplicates: number;
}

/**
 * The `Nats-Msg-Id` a dead letter is redriven with: new (the event id would be dropped as a
 * duplicate of the original), yet the same on every run, so a redrive interrupted between
 * publish and delete and run again is dropped by the events stream's duplicate window. The
 * CloudEvent id is unchanged, so the inbox skips an event that was applied after all.
 */
export function redriveMsgId(deadLetterStream: string, seq: number): string {
  return `jetbox-redrive:${deadLetterStream}:${seq}`;
}

/**
 * Publishes dead letters back to their original subject with their original headers and body,
 * then deletes each from the dead-letter stream. Safe to interrupt and run again: no event is
 * lost (deleted only after the PubAck) or doubled (see `redriveMsgId`).
 */
export async function redriveDeadLetters(
  nc: NatsConnection,
  options: RedriveDeadLettersOptions,
): Promise<RedriveResult> {
  const letters =
    options.seqs !== undefined
      ? await Promise.all(options.seqs.map((seq) => showDeadLetter(nc, options.stream, seq)))
      : await listDeadLetters(nc, options);
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const result: RedriveResult = { redriven: 0, duplicates: 0 };
  for (const letter of letters) {
    if (letter.originalSubject === '' || letter.originalStream === '') {
      throw JetboxError.invalidOption(
        'seqs',
        `dead letter ${letter.seq} has no Jetbox-Dlq-Subject/Stream header to redrive to`,
      );
    }
    const headers = createHeaders();
    for (const [key, values] of letter.headers ?? []) {
      if (key.toLowerCase().startsWith('jetbox-dlq-')) continue;
      for (const value of values) headers.append(key, value);
    }
    const ack = await js.publish(letter.originalSubject, letter.data, {
      headers,
      msgID: redriveMsgId(options.stream, letter.seq),
      expect: { streamName: letter.originalStream },
    });
    await jsm.streams.deleteMessage(options.stream, letter.seq, false).catch((err: unknown) => {
      // Deleted by a concurrent or earlier run.
      if (!/no message found/i.test(String(err))) throw err;
    });
    if (ack.duplicate) result.duplicates++;
    else result.redriven++;
    options.onProgress?.(result.redriven + result.duplicates, letters.length, letter);
  }
  return result;
}
