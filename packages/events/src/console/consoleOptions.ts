import type { NatsConnection } from '@nats-io/nats-core';
import { DEFAULT_DEAD_LETTER_SUBJECT_PREFIX } from '../consumer/consumerOptions.js';
import { JetboxError } from '../errors.js';
import { DEFAULT_DLQ_STREAM } from '../jetstream/streamsOptions.js';
import type { Queryable } from '../relay/outboxSql.js';
import { DEFAULT_RELAY_STREAM } from '../relay/relayOptions.js';

/** @defaultValue 8088 */
export const DEFAULT_CONSOLE_PORT = 8088;
/** Loopback only unless asked otherwise: the console shows message bodies. @defaultValue `127.0.0.1` */
export const DEFAULT_CONSOLE_HOST = '127.0.0.1';
/** @defaultValue 5000 */
export const DEFAULT_CONSOLE_SAMPLE_INTERVAL_MS = 5000;
/** One hour of samples at the default interval. @defaultValue 720 */
export const DEFAULT_CONSOLE_SAMPLE_HISTORY = 720;
/** @defaultValue 3000 */
export const DEFAULT_CONSOLE_REFRESH_MS = 3000;
/** Dead letters the list shows at most; the page says when there are more. @defaultValue 200 */
export const DEFAULT_CONSOLE_DLQ_LIMIT = 200;
/** The largest `limit` a dead-letter list request may ask for. */
export const MAX_CONSOLE_DLQ_LIMIT = 1000;

/** What `createConsoleApp` needs: connections it uses but does not own, and its settings. */
export interface ConsoleOptionsInput {
  /** The database with `jetbox_outbox` (a `pg.Pool`); the caller closes it. */
  db: Queryable;
  /** The NATS connection; the caller closes it. */
  nats: NatsConnection;
  /** The events stream whose consumers are shown. @defaultValue `JETBOX_EVENTS` */
  stream?: string;
  /** @defaultValue `JETBOX_DLQ` */
  dlqStream?: string;
  /** @defaultValue `dlq` */
  dlqSubjectPrefix?: string;
  /**
   * Bearer token admin actions (redrive, purge, retry failed) require. Without one the console
   * is read-only. @defaultValue none (read-only)
   */
  token?: string;
  /** How often the outbox backlog and publish rate are sampled for the chart. @defaultValue 5000 */
  sampleIntervalMs?: number;
  /** Samples kept for the chart. @defaultValue 720 */
  sampleHistory?: number;
  /** How often the page polls the API. @defaultValue 3000 */
  refreshMs?: number;
  /** Where unexpected request and sampling failures go. @defaultValue console.error */
  log?: ConsoleLog;
}

export interface ConsoleLog {
  error(obj: object, msg: string): void;
}

export interface ConsoleOptions extends Required<Omit<ConsoleOptionsInput, 'token'>> {
  token: string | undefined;
}

// Shorter tokens are guessable; the console refuses them rather than run with false safety.
const MIN_TOKEN_LENGTH = 16;

/** Merges defaults and fails fast naming the first invalid property. */
export function resolveConsoleOptions(input: ConsoleOptionsInput): ConsoleOptions {
  const options: ConsoleOptions = {
    db: input.db,
    nats: input.nats,
    stream: input.stream ?? DEFAULT_RELAY_STREAM,
    dlqStream: input.dlqStream ?? DEFAULT_DLQ_STREAM,
    dlqSubjectPrefix: input.dlqSubjectPrefix ?? DEFAULT_DEAD_LETTER_SUBJECT_PREFIX,
    token: input.token === '' ? undefined : input.token,
    sampleIntervalMs: input.sampleIntervalMs ?? DEFAULT_CONSOLE_SAMPLE_INTERVAL_MS,
    sampleHistory: input.sampleHistory ?? DEFAULT_CONSOLE_SAMPLE_HISTORY,
    refreshMs: input.refreshMs ?? DEFAULT_CONSOLE_REFRESH_MS,
    log: input.log ?? { error: (obj, msg) => console.error(msg, obj) },
  };
  for (const name of ['stream', 'dlqStream', 'dlqSubjectPrefix'] as const) {
    if (!/^[A-Za-z0-9_-]+$/.test(options[name]))
      throw JetboxError.invalidOption(
        name,
        `must be a NATS name (letters, digits, _ and -), got ${JSON.stringify(options[name])}`,
      );
  }
  if (options.token !== undefined && options.token.length < MIN_TOKEN_LENGTH)
    throw JetboxError.invalidOption(
      'token',
      `must be at least ${MIN_TOKEN_LENGTH} characters (JETBOX_CONSOLE_TOKEN)`,
    );
  for (const [name, min] of [
    ['sampleIntervalMs', 100],
    ['sampleHistory', 2],
    ['refreshMs', 100],
  ] as const) {
    const v = options[name];
    if (!Number.isInteger(v) || v < min)
      throw JetboxError.invalidOption(name, `must be an integer of at least ${min}, got ${v}`);
  }
  return options;
}
