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
import { envReader } from '@jetbox/service-kit';

export { ConfigError } from '@jetbox/service-kit';

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

export function readConfig(
  env: Record<string, string | undefined> = process.env,
): MatchServiceConfig {
  const read = envReader(env);
  return {
    port: read.integer('PORT', DEFAULT_PORT, 0, 65535),
    databaseUrl: read.string('DATABASE_URL', DEFAULT_DATABASE_URL),
    nats: { servers: [DEFAULT_NATS_URL], ...natsOptionsFromEnv(env) },
    stream: read.string('JETBOX_STREAM', DEFAULT_RELAY_STREAM),
    subjectPrefix: read.string('JETBOX_SUBJECT_PREFIX', DEFAULT_SUBJECT_PREFIX),
    dlqStream: read.string('JETBOX_DLQ_STREAM', DEFAULT_DLQ_STREAM),
    dlqSubjectPrefix: read.string('JETBOX_DLQ_SUBJECT_PREFIX', DEFAULT_DLQ_SUBJECT_PREFIX),
    partitions: read.integer('JETBOX_PARTITIONS', DEFAULT_PARTITIONS, 1, 1024),
    relayInProcess: read.boolean('RELAY_IN_PROCESS', true),
  };
}
