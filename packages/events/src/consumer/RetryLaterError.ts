import { JetboxError, JetboxErrorCode } from '../errors.js';

/**
 * Thrown by a handler when a dependency, not the message, is at fault and known to be
 * unavailable for a while (an open circuit breaker, a full bulkhead, a 429 or 503 with
 * `Retry-After`): the message is retried after `delayMs` **without using one of its attempts**,
 * so an outage of any length never dead-letters it. The consumer keeps holding it (with
 * `working()` heartbeats) and gives it back to JetStream with this delay only when stopping.
 * Later events of the same partition key wait behind it, so order holds. JetStream counts each
 * such hand-back as a delivery: a message given back at more than `maxDeliver` stops during one
 * outage is dead-lettered (`max-deliveries`, redrivable) rather than kept forever.
 */
export class RetryLaterError extends JetboxError {
  override name = 'RetryLaterError';
  readonly delayMs: number;

  constructor(message: string, options: { delayMs: number; cause?: unknown }) {
    super(JetboxErrorCode.RetryLater, message, { cause: options.cause });
    if (!Number.isFinite(options.delayMs) || options.delayMs < 0) {
      throw JetboxError.invalidOption('RetryLaterError.delayMs', 'must be a number >= 0');
    }
    this.delayMs = options.delayMs;
  }
}

export function isRetryLaterError(err: unknown): err is RetryLaterError {
  return err instanceof JetboxError && err.code === JetboxErrorCode.RetryLater;
}
