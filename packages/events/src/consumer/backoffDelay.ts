/** How long to wait before retrying a failed message. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. @defaultValue 1000 */
  initialMs: number;
  /** Each further retry waits this many times longer. @defaultValue 2 */
  multiplier: number;
  /** No delay is longer than this, in ms. @defaultValue 60000 */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, multiplier: 2, maxMs: 60_000 };

/** Delay before retry number `retry` (1 for the first): 1 s, 2 s, 4 s, 8 s … capped. */
export function backoffDelay(retry: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const exponent = Math.max(0, retry - 1);
  return Math.min(options.maxMs, Math.round(options.initialMs * options.multiplier ** exponent));
}
