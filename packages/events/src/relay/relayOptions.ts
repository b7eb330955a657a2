import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import { JetboxError } from '../errors.js';
import { DEFAULT_PARTITIONS } from '../jetstream/subjects.js';
import type { Outbox } from '../outbox/createOutbox.js';
import { definedOnly } from '../config.js';

/** @defaultValue 1000 rows */
export const DEFAULT_RELAY_BATCH_SIZE = 1000;
/** @defaultValue 1000 ms */
export const DEFAULT_RELAY_POLL_INTERVAL_MS = 1000;
/** @defaultValue 20 attempts */
export const DEFAULT_RELAY_MAX_ATTEMPTS = 20;
/** @defaultValue 500 ms */
export const DEFAULT_RELAY_BACKOFF_BASE_MS = 500;
/** @defaultValue 60 s */
export const DEFAULT_RELAY_BACKOFF_MAX_MS = 60_000;
/** @defaultValue 0.2 (±20 %) */
export const DEFAULT_RELAY_JITTER = 0.2;
/** @defaultValue 10 s */
export const DEFAULT_RELAY_PUBLISH_TIMEOUT_MS = 10_000;
/** @defaultValue 10 s */
export const DEFAULT_RELAY_STOP_TIMEOUT_MS = 10_000;
/** @defaultValue 7 days */
export const DEFAULT_RELAY_RETENTION_MS = 7 * 24 * 3600_000;
/** @defaultValue 60 s */
export const DEFAULT_RELAY_RETENTION_INTERVAL_MS = 60_000;
/** @defaultValue `JETBOX_EVENTS` */
export const DEFAULT_RELAY_STREAM = 'JETBOX_EVENTS';

export interface RelayOptions {
  /** PostgreSQL connection string of the database holding `jetbox_outbox`. */
  databaseUrl: string;
  nats: NatsConnection;
  /** The producer's outbox, for an in-process wake-up after each commit. */
  outbox?: Outbox;
  /** Stream the events land in; its duplicate window is checked at start. @defaultValue `JETBOX_EVENTS` */
  stream?: string;
  /** Must equal the outbox's partition count. @defaultValue 16 */
  partitions?: number;
  /** Rows claimed per round. @defaultValue 1000 */
  batchSize?: number;
  /** Safety-net sweep when no wake-up comes. @defaultValue 1000 ms */
  pollIntervalMs?: number;
  /** Attempts before a row becomes `failed`. @defaultValue 20 */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt. @defaultValue 500 ms */
  backoffBaseMs?: number;
  /** Cap of the retry delay. @defaultValue 60 s */
  backoffMaxMs?: number;
  /** Random spread of each delay, as a fraction. @defaultValue 0.2 */
  jitter?: number;
  /** PubAck wait per message. @defaultValue 10 s */
  publishTimeoutMs?: number;
  /** Longest graceful stop before in-flight work is abandoned (it is republished later). @defaultValue 10 s */
  stopTimeoutMs?: number;
  /** Published rows older than this are deleted. @defaultValue 7 days; 0 keeps them */
  retentionMs?: number;
  /** @defaultValue 60 s */
  retentionIntervalMs?: number;
  /** Prometheus registry for the relay's metrics. @defaultValue a new registry */
  registry?: Registry;
  /** Start even when the duplicate window is shorter than the retry gap (tests only). @defaultValue false */
  allowUnsafeRetryHorizon?: boolean;
}

export type ResolvedRelayOptions = Required<Omit<RelayOptions, 'outbox' | 'registry'>> &
  Pick<RelayOptions, 'outbox' | 'registry'>;

function positiveInt(name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min)
    throw JetboxError.invalidOption(`relay.${name}`, `must be an integer ≥ ${min}, got ${v}`);
}

export function resolveRelayOptions(options: RelayOptions): ResolvedRelayOptions {
  const o: ResolvedRelayOptions = {
    stream: DEFAULT_RELAY_STREAM,
    partitions: options.outbox?.options.partitions ?? DEFAULT_PARTITIONS,
    batchSize: DEFAULT_RELAY_BATCH_SIZE,
    pollIntervalMs: DEFAULT_RELAY_POLL_INTERVAL_MS,
    maxAttempts: DEFAULT_RELAY_MAX_ATTEMPTS,
    backoffBaseMs: DEFAULT_RELAY_BACKOFF_BASE_MS,
    backoffMaxMs: DEFAULT_RELAY_BACKOFF_MAX_MS,
    jitter: DEFAULT_RELAY_JITTER,
    publishTimeoutMs: DEFAULT_RELAY_PUBLISH_TIMEOUT_MS,
    stopTimeoutMs: DEFAULT_RELAY_STOP_TIMEOUT_MS,
    retentionMs: DEFAULT_RELAY_RETENTION_MS,
    retentionIntervalMs: DEFAULT_RELAY_RETENTION_INTERVAL_MS,
    allowUnsafeRetryHorizon: false,
    ...definedOnly(options),
    databaseUrl: options.databaseUrl,
    nats: options.nats,
  };
  if (typeof o.databaseUrl !== 'string' || !/^postgres(ql)?:\/\//.test(o.databaseUrl)) {
    throw JetboxError.invalidOption('relay.databaseUrl', 'must be a postgres:// connection string');
  }
  if (!o.nats) throw JetboxError.invalidOption('relay.nats', 'a NATS connection is required');
  positiveInt('partitions', o.partitions);
  if (o.outbox && o.outbox.options.partitions !== o.partitions) {
    throw JetboxError.invalidOption(
      'relay.partitions',
      `is ${o.partitions} but the outbox writes ${o.outbox.options.partitions} partitions`,
    );
  }
  positiveInt('batchSize', o.batchSize);
  positiveInt('pollIntervalMs', o.pollIntervalMs, 10);
  positiveInt('maxAttempts', o.maxAttempts);
  positiveInt('backoffBaseMs', o.backoffBaseMs);
  positiveInt('backoffMaxMs', o.backoffMaxMs, o.backoffBaseMs);
  positiveInt('publishTimeoutMs', o.publishTimeoutMs, 100);
  positiveInt('stopTimeoutMs', o.stopTimeoutMs, 0);
  positiveInt('retentionMs', o.retentionMs, 0);
  positiveInt('retentionIntervalMs', o.retentionIntervalMs, 10);
  if (!(o.jitter >= 0 && o.jitter < 1))
    throw JetboxError.invalidOption('relay.jitter', `must be in [0, 1), got ${o.jitter}`);
  return o;
}

/** Delay before attempt `attempts + 1`, exponential with jitter. */
export function retryDelayMs(
  attempts: number,
  o: Pick<ResolvedRelayOptions, 'backoffBaseMs' | 'backoffMaxMs' | 'jitter'>,
): number {
  const raw = Math.min(o.backoffMaxMs, o.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(raw * (1 + o.jitter * (2 * Math.random() - 1)));
}

/**
 * The longest time between two publishes of one row: the worst retry delay, a PubAck timeout,
 * and a poll interval (a row due for a retry is found by the next sweep from seq 0).
 */
export function worstRetryGapMs(
  o: Pick<ResolvedRelayOptions, 'backoffMaxMs' | 'jitter' | 'publishTimeoutMs' | 'pollIntervalMs'>,
): number {
  return Math.ceil(o.backoffMaxMs * (1 + o.jitter)) + o.publishTimeoutMs + o.pollIntervalMs;
}
