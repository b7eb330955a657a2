import { JetboxError, JetboxErrorCode } from '../errors.js';

/**
 * Thrown by a handler for a failure that no retry can fix (the event refers to something that
 * can never exist, a business rule rejects it for good): the message is dead-lettered at once
 * instead of being retried.
 */
export class NonRetryableError extends JetboxError {
  override name = 'NonRetryableError';

  constructor(message: string, options?: ErrorOptions) {
    super(JetboxErrorCode.NonRetryable, message, options);
  }
}

export function isNonRetryableError(err: unknown): err is NonRetryableError {
  return err instanceof JetboxError && err.code === JetboxErrorCode.NonRetryable;
}
