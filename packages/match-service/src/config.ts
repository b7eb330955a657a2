import {
  DEFAULT_DATABASE_URL,
  DEFAULT_NATS_URL,
  DEFAULT_PARTITIONS,
  DEFAULT_RELAY_STREAM,
  DEFAULT_SUBJECT_PREFIX,
  DEFAULT_DLQ_STREAM,
  DEFAULT_DLQ_SUBJECT_PREFIX,
  natsOptionsFromEnv,
  type NatsConnectionOptions,
} from '@jetbox/events';

/** Where match-service listens when `PORT` is not set. @defaultValue 3000 */
export const DEFAULT_PORT = 3000;

/** Everything match-service reads from the environment, read here and nowhere else. */
export interface MatchServiceConfig {
  /** HTTP port. @defaultValue 3000 */
  port: number;
  /** @defaultValue `postgres://postgres@127.0.0.1:5432/jetbox` */
  databaseUrl: string;
  /**
   * NATS connection: `NATS_URL` (comma-separated servers), `NATS_USER`, `NATS_PASSWORD`,
   * `NATS_TOKEN`, `NATS_CREDS`, `NATS_NKEY`, `NATS_TLS_CA`, `NATS_TLS_CERT`, `NATS_TLS_KEY`.
   * @defaultValue servers `nats://127.0.0.1:4222`
   */
  nats: Partial<NatsConnectionOptions>;
  /** Stream the relay publishes to. @defaultValue `JETBOX_EVENTS` */
  stream: string;
  /** First token of event subjects (`<prefix>.match.created.<partition>`). @defaultValue `events` */
  subjectPrefix: string;
  /** Dead-letter stream, applied at start (`JETBOX_DLQ_STREAM`). @defaultValue `JETBOX_DLQ` */
  dlqStream: string;
  /** Its subjects are `<prefix>.>` (`JETBOX_DLQ_SUBJECT_PREFIX`). @defaultValue `dlq` */
  dlqSubjectPrefix: string;
  /** Subject partitions; consumers must agree. @defaultValue 16 */
  partitions: number;
  /** Run the relay inside this process; `false` when a standalone `jetbox relay` runs. @defaultValue true */
  relayInProcess: boolean;
}

/** Thrown at start-up for a malformed variable, naming it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'INVALID_CONFIG';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
  }
}

export function readConfig(
  env: Record<string, string | undefined> = process.env,
): MatchServiceConfig {
  const get = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  return {
    port: integer('PORT', get('PORT'), DEFAULT_PORT, 0, 65535),
    databaseUrl: get('DATABASE_URL') ?? DEFAULT_DATABASE_URL,
    nats: { servers: [DEFAULT_NATS_URL], ...natsOptionsFromEnv(env) },
    stream: get('JETBOX_STREAM') ?? DEFAULT_RELAY_STREAM,
    subjectPrefix: get('JETBOX_SUBJECT_PREFIX') ?? DEFAULT_SUBJECT_PREFIX,
    dlqStream: get('JETBOX_DLQ_STREAM') ?? DEFAULT_DLQ_STREAM,
    dlqSubjectPrefix: get('JETBOX_DLQ_SUBJECT_PREFIX') ?? DEFAULT_DLQ_SUBJECT_PREFIX,
    partitions: integer('JETBOX_PARTITIONS', get('JETBOX_PARTITIONS'), DEFAULT_PARTITIONS, 1, 1024),
    relayInProcess: boolean('RELAY_IN_PROCESS', get('RELAY_IN_PROCESS'), true),
  };
}

function integer(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
) {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

function boolean(name: string, raw: string | undefined, fallback: boolean) {
  if (raw === undefined) return fallback;
  if (/^(true|1|yes|on)$/i.test(raw)) return true;
  if (/^(false|0|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}
