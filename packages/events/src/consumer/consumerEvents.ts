import type { DeadLetterReason } from './deadLetterHeaders.js';

/** Identifies the message an event is about. */
export interface MessageRef {
  consumer: string;
  subject: string;
  streamSequence: number;
  /** Attempt number, in-process retries included (1 on the first try). */
  attempt: number;
  /** Absent when the message could not be decoded. */
  eventId?: string;
  type?: string;
}

/** Typed events of a running consumer: `consumer.events.on('consumer:deadLettered', …)`. */
export interface ConsumerEventMap {
  'consumer:started': [{ consumer: string }];
  'consumer:stopped': [{ consumer: string; timedOut: boolean }];
  /**
   * The handler ran and its transaction, with the inbox row, committed. `durationMs` is that
   * transaction's, from its start to its commit; `batchSize` how many events it handled.
   */
  'consumer:processed': [MessageRef & { durationMs: number; batchSize: number }];
  /** One transaction committed: `events` handled in it (duplicates skipped included). */
  'consumer:committed': [
    { consumer: string; events: number; duplicates: number; durationMs: number },
  ];
  /** The event was already in the inbox: acknowledged without running the handler. */
  'consumer:duplicate': [MessageRef];
  /** No handler for this (known) type: acknowledged. */
  'consumer:ignored': [MessageRef];
  /** The handler failed; it will be retried after `delayMs`. */
  'consumer:retrying': [MessageRef & { delayMs: number; error: Error }];
  /** The handler threw a `RetryLaterError`: retried after `delayMs`, the attempt not counted. */
  'consumer:deferred': [MessageRef & { delayMs: number; error: Error }];
  'consumer:deadLettered': [
    MessageRef & { reason: DeadLetterReason; error: Error; deadLetterSubject: string },
  ];
  /** A background failure that did not stop the consumer (dead-letter publish failed, …). */
  'consumer:error': [{ consumer: string; error: Error; during: string }];
}
