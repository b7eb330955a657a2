/** How notifier calls another service: every field is also an environment variable. */
export interface HttpPolicyOptions {
  /** One attempt is abandoned after this long (`NOTIFIER_HTTP_TIMEOUT_MS`). @defaultValue 3000 */
  timeoutMs: number;
  /** Retries after the first attempt, for timeouts, network errors, 408, 429 and 5xx (`NOTIFIER_HTTP_RETRIES`). @defaultValue 3 */
  retries: number;
  /** First retry delay, doubling with jitter (`NOTIFIER_HTTP_BACKOFF_MS`). @defaultValue 250 */
  initialBackoffMs: number;
  /** Retry delays are capped here (`NOTIFIER_HTTP_MAX_BACKOFF_MS`). @defaultValue 4000 */
  maxBackoffMs: number;
  /** The circuit opens after this many failed attempts in a row (`NOTIFIER_BREAKER_FAILURES`). @defaultValue 5 */
  breakerFailures: number;
  /** An open circuit lets one trial call through after this long (`NOTIFIER_BREAKER_HALF_OPEN_MS`). @defaultValue 5000 */
  breakerHalfOpenMs: number;
  /** Bulkhead: calls in progress at once, retries included (`NOTIFIER_BULKHEAD`). @defaultValue 10 */
  maxConcurrent: number;
  /** Calls waiting for the bulkhead before new ones are refused (`NOTIFIER_BULKHEAD_QUEUE`). @defaultValue 100 */
  maxQueued: number;
}

export const DEFAULT_HTTP_POLICY: Readonly<HttpPolicyOptions> = {
  timeoutMs: 3000,
  retries: 3,
  initialBackoffMs: 250,
  maxBackoffMs: 4000,
  breakerFailures: 5,
  breakerHalfOpenMs: 5000,
  maxConcurrent: 10,
  maxQueued: 100,
};
