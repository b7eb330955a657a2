/** Stable error codes of `@jetbox/events`; match on `code`, never on messages. */
export const JetboxErrorCode = {
  InvalidOptions: 'INVALID_OPTIONS',
  InvalidEvent: 'INVALID_EVENT',
  EventTooLarge: 'EVENT_TOO_LARGE',
  DecodeFailed: 'DECODE_FAILED',
  StreamConfig: 'STREAM_CONFIG',
  UnsafeRetryHorizon: 'UNSAFE_RETRY_HORIZON',
  NotStarted: 'NOT_STARTED',
  StopTimeout: 'STOP_TIMEOUT',
  NonRetryable: 'NON_RETRYABLE',
  RetryLater: 'RETRY_LATER',
  NotFound: 'NOT_FOUND',
} as const;
export type JetboxErrorCode = (typeof JetboxErrorCode)[keyof typeof JetboxErrorCode];

/** Base class of every error `@jetbox/events` throws on purpose. */
export class JetboxError extends Error {
  override name = 'JetboxError';
  readonly code: JetboxErrorCode;

  constructor(code: JetboxErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  /** An option failed validation; `property` is the option's path, e.g. `relay.batchSize`. */
  static invalidOption(property: string, problem: string): JetboxError {
    return new JetboxError(
      JetboxErrorCode.InvalidOptions,
      `invalid option ${property}: ${problem}`,
    );
  }
}

export function isJetboxError(err: unknown, code?: JetboxErrorCode): err is JetboxError {
  return err instanceof JetboxError && (code === undefined || err.code === code);
}
