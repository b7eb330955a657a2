import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { RetryLaterError } from '@jetbox/events';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  bulkhead,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import type { HttpClientMetrics } from './httpClientMetrics.js';
import type { HttpPolicyOptions } from './httpPolicyOptions.js';

/** An attempt that may succeed if tried again: a timeout, a network error, 408, 429 or 5xx. */
export class TransientHttpError extends Error {
  override readonly name = 'TransientHttpError';
  constructor(
    message: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const TRANSIENT_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;

/** A response read in full within the attempt's timeout. */
export interface HttpResult {
  status: number;
  ok: boolean;
  body: string;
}

/** `fetch` to one dependency through a bulkhead, retries with backoff, a circuit breaker and a timeout. */
export interface ResilientHttp {
  /**
   * Resolves with any response that is not transient (2xx, 3xx, and 4xx but 408/429: the caller
   * decides); rejects with `TransientHttpError` once the retries are spent, and with a
   * `RetryLaterError` while the circuit is open or the bulkhead is full, so the consumer defers
   * the message instead of using up its attempts. `signal` (shutdown) cancels everything.
   */
  fetch(url: string, init: RequestInit, signal: AbortSignal): Promise<HttpResult>;
  /** `closed`, `open`, `half-open` or `isolated`. */
  readonly circuit: string;
}

const STATE_NAMES: Record<CircuitState, string> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * The policy, outermost first: the bulkhead bounds calls in progress (retry waits included) so
 * a slow dependency cannot tie up the worker; retries back off exponentially with jitter up to
 * `maxBackoffMs`; the breaker counts every failed attempt and, once open, fails calls at once;
 * the timeout aborts each attempt's request.
 */
export function createResilientHttp(
  target: string,
  options: HttpPolicyOptions,
  metrics: HttpClientMetrics,
): ResilientHttp {
  const tracer = trace.getTracer('@jetbox/notifier');
  const transient = handleWhen((err) => err instanceof TransientHttpError);
  const breaker = circuitBreaker(transient, {
    halfOpenAfter: options.breakerHalfOpenMs,
    breaker: new ConsecutiveBreaker(options.breakerFailures),
  });
  const policy = wrap(
    bulkhead(options.maxConcurrent, options.maxQueued),
    retry(transient, {
      maxAttempts: options.retries,
      backoff: new ExponentialBackoff({
        initialDelay: options.initialBackoffMs,
        maxDelay: options.maxBackoffMs,
      }),
    }),
    breaker,
    // Cooperative: the attempt sees its signal abort and reports a TransientHttpError itself,
    // which the breaker counts and the retry retries (an aggressive timeout's own error would not be).
    timeout(options.timeoutMs, TimeoutStrategy.Cooperative),
  );
  metrics.circuitState.set({ target }, breaker.state);
  breaker.onStateChange((state) => metrics.circuitState.set({ target }, state));
  breaker.onBreak(() => metrics.circuitOpened.inc({ target }));

  /** One CLIENT span per attempt, its trace context sent along as `traceparent`. */
  function attempt(
    url: string,
    init: RequestInit,
    signal: AbortSignal,
    stopping: AbortSignal,
  ): Promise<HttpResult> {
    const method = init.method ?? 'GET';
    return tracer.startActiveSpan(
      `${method} ${target}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'http.request.method': method, 'url.full': url, 'jetbox.target': target },
      },
      async (span) => {
        const headers = new Headers(init.headers);
        propagation.inject(context.active(), headers, {
          set: (carrier, key, value) => carrier.set(key, value),
        });
        try {
          const result = await send(url, { ...init, headers }, signal, stopping);
          span.setAttribute('http.response.status_code', result.status);
          return result;
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      },
    );
  }

  async function send(
    url: string,
    init: RequestInit,
    signal: AbortSignal,
    stopping: AbortSignal,
  ): Promise<HttpResult> {
    let response: Response;
    let body: string;
    try {
      response = await fetch(url, { ...init, signal });
      // Read here: the body belongs to the attempt, its timeout included.
      body = await response.text();
    } catch (err) {
      if (stopping.aborted) {
        // The worker is stopping, not the dependency failing: neither a retry nor the breaker
        // should count it.
        throw new Error(`${target}: call cancelled, the worker is stopping (${url})`, {
          cause: err,
        });
      }
      const timedOut = signal.aborted;
      metrics.attempts.inc({ target, outcome: timedOut ? 'timeout' : 'network' });
      throw new TransientHttpError(
        timedOut
          ? `${target}: no response within ${options.timeoutMs} ms (${url})`
          : `${target}: ${(err as Error).message} (${url})`,
        undefined,
        { cause: err },
      );
    }
    metrics.attempts.inc({ target, outcome: `http_${Math.floor(response.status / 100)}xx` });
    if (TRANSIENT_STATUS(response.status)) {
      throw new TransientHttpError(`${target}: HTTP ${response.status} (${url})`, response.status);
    }
    return { status: response.status, ok: response.ok, body };
  }

  return {
    get circuit() {
      return STATE_NAMES[breaker.state];
    },
    async fetch(url, init, signal) {
      try {
        return await policy.execute(
          ({ signal: attemptSignal }) => attempt(url, init, attemptSignal, signal),
          signal,
        );
      } catch (err) {
        if (err instanceof BrokenCircuitError) {
          metrics.rejected.inc({ target, reason: 'circuit_open' });
          throw new RetryLaterError(`${target}: circuit open after repeated failures`, {
            delayMs: options.breakerHalfOpenMs,
            cause: err,
          });
        }
        if (err instanceof BulkheadRejectedError) {
          metrics.rejected.inc({ target, reason: 'bulkhead_full' });
          throw new RetryLaterError(`${target}: too many calls in progress`, {
            delayMs: Math.min(1000, options.breakerHalfOpenMs),
            cause: err,
          });
        }
        if (signal.aborted || err instanceof TaskCancelledError) {
          throw new Error(`${target}: call cancelled, the worker is stopping (${url})`, {
            cause: err,
          });
        }
        throw err;
      }
    },
  };
}
