import { DEFAULT_CONSUMER_ACK_WAIT_MS, DEFAULT_DATABASE_URL } from '@jetbox/events';
import { ConfigError, envReader, readJetboxEnv, type JetboxEnv } from '@jetbox/service-kit';

import { DEFAULT_HTTP_POLICY, type HttpPolicyOptions } from './http/httpPolicyOptions.js';

export { ConfigError };

/** Where notifier listens when `PORT` is not set. @defaultValue 3001 */
export const DEFAULT_PORT = 3001;
/** notifier's own database: it shares no tables with match-service. */
export const DEFAULT_NOTIFIER_DATABASE_URL = DEFAULT_DATABASE_URL.replace(
  /\/jetbox$/,
  '/jetbox_notifier',
);
/** @defaultValue `notifier` */
export const DEFAULT_CONSUMER_NAME = 'notifier';
/** @defaultValue 8 */
export const DEFAULT_CONCURRENCY = 8;
/** @defaultValue `http://127.0.0.1:3000` */
export const DEFAULT_MATCH_SERVICE_URL = 'http://127.0.0.1:3000';

/** Everything notifier reads from the environment, read here and nowhere else. */
export interface NotifierConfig extends JetboxEnv {
  /** HTTP port of `/users/:id/notifications` and the probes. @defaultValue 3001 */
  port: number;
  /** Durable consumer name, also its inbox and dead-letter name. @defaultValue `notifier` */
  consumerName: string;
  /** Matches handled at once (one match's events always in order). @defaultValue 8 */
  concurrency: number;
  /**
   * A message delivered to an instance that died is redelivered after this long
   * (`NOTIFIER_ACK_WAIT_MS`; live instances keep theirs with heartbeats). @defaultValue 30000
   */
  ackWaitMs: number;
  /** Base URL of match-service. @defaultValue `http://127.0.0.1:3000` */
  matchServiceUrl: string;
  /** Each notification is also POSTed here when set. @defaultValue none */
  webhookUrl: string | undefined;
  /** Timeout, retries, circuit breaker and bulkhead of every outgoing call. */
  http: HttpPolicyOptions;
}

/**
 * Reads `PORT`, `NOTIFIER_*`, `MATCH_SERVICE_URL` and the settings every service shares
 * (`DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/jetbox_notifier`, `NATS_*`,
 * `JETBOX_STREAM`, `JETBOX_SUBJECT_PREFIX`, `JETBOX_DLQ_STREAM`, `JETBOX_DLQ_SUBJECT_PREFIX`,
 * `JETBOX_STREAM_REPLICAS`; see `readJetboxEnv`).
 */
export function readConfig(env: Record<string, string | undefined> = process.env): NotifierConfig {
  const read = envReader(env);
  const d = DEFAULT_HTTP_POLICY;
  const consumerName = read.string('NOTIFIER_CONSUMER', DEFAULT_CONSUMER_NAME);
  if (!/^[A-Za-z0-9_-]+$/.test(consumerName)) {
    throw new ConfigError(
      'NOTIFIER_CONSUMER',
      `must be letters, digits, _ or -, got "${consumerName}"`,
    );
  }
  return {
    ...readJetboxEnv(read, env, DEFAULT_NOTIFIER_DATABASE_URL),
    port: read.integer('PORT', DEFAULT_PORT, 0, 65535),
    consumerName,
    concurrency: read.integer('NOTIFIER_CONCURRENCY', DEFAULT_CONCURRENCY, 1, 256),
    ackWaitMs: read.integer('NOTIFIER_ACK_WAIT_MS', DEFAULT_CONSUMER_ACK_WAIT_MS, 1000, 3_600_000),
    matchServiceUrl: read.httpUrl('MATCH_SERVICE_URL', DEFAULT_MATCH_SERVICE_URL),
    webhookUrl: read.httpUrl('NOTIFIER_WEBHOOK_URL'),
    http: {
      timeoutMs: read.integer('NOTIFIER_HTTP_TIMEOUT_MS', d.timeoutMs, 1, 600_000),
      retries: read.integer('NOTIFIER_HTTP_RETRIES', d.retries, 0, 10),
      initialBackoffMs: read.integer('NOTIFIER_HTTP_BACKOFF_MS', d.initialBackoffMs, 0, 60_000),
      maxBackoffMs: read.integer('NOTIFIER_HTTP_MAX_BACKOFF_MS', d.maxBackoffMs, 0, 600_000),
      breakerFailures: read.integer('NOTIFIER_BREAKER_FAILURES', d.breakerFailures, 1, 1000),
      breakerHalfOpenMs: read.integer(
        'NOTIFIER_BREAKER_HALF_OPEN_MS',
        d.breakerHalfOpenMs,
        1,
        600_000,
      ),
      maxConcurrent: read.integer('NOTIFIER_BULKHEAD', d.maxConcurrent, 1, 1000),
      maxQueued: read.integer('NOTIFIER_BULKHEAD_QUEUE', d.maxQueued, 0, 100_000),
    },
  };
}
