import { DEFAULT_DATABASE_URL, DEFAULT_PARTITIONS } from '@jetbox/events';
import { envReader, readJetboxEnv, type JetboxEnv } from '@jetbox/service-kit';

export { ConfigError } from '@jetbox/service-kit';

/** Where match-service listens when `PORT` is not set. @defaultValue 3000 */
export const DEFAULT_PORT = 3000;

/** Everything match-service reads from the environment, read here and nowhere else. */
export interface MatchServiceConfig extends JetboxEnv {
  /** HTTP port. @defaultValue 3000 */
  port: number;
  /** Subject partitions; consumers must agree. @defaultValue 16 */
  partitions: number;
  /** Run the relay inside this process; `false` when a standalone `jetbox relay` runs. @defaultValue true */
  relayInProcess: boolean;
}

/**
 * Reads `PORT`, `JETBOX_PARTITIONS`, `RELAY_IN_PROCESS` and the settings every service shares
 * (`DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/jetbox`, `NATS_*`,
 * `JETBOX_STREAM`, `JETBOX_SUBJECT_PREFIX`, `JETBOX_DLQ_STREAM`, `JETBOX_DLQ_SUBJECT_PREFIX`,
 * `JETBOX_STREAM_REPLICAS`; see `readJetboxEnv`).
 */
export function readConfig(
  env: Record<string, string | undefined> = process.env,
): MatchServiceConfig {
  const read = envReader(env);
  return {
    ...readJetboxEnv(read, env, DEFAULT_DATABASE_URL),
    port: read.integer('PORT', DEFAULT_PORT, 0, 65535),
    partitions: read.integer('JETBOX_PARTITIONS', DEFAULT_PARTITIONS, 1, 1024),
    relayInProcess: read.boolean('RELAY_IN_PROCESS', true),
  };
}
