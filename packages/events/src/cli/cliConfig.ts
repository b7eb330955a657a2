import { DEFAULT_DATABASE_URL, DEFAULT_NATS_URL } from '../config.js';
import { DEFAULT_PARTITIONS } from '../jetstream/subjects.js';
import { DEFAULT_RELAY_STREAM } from '../relay/relayOptions.js';

/** Everything the `jetbox` CLI reads from the environment, read here and nowhere else. */
export interface CliEnv {
  databaseUrl: string;
  natsUrl: string;
  stream: string;
  dlqStream: string | undefined;
  dlqSubjectPrefix: string | undefined;
  replicas: number | undefined;
  partitions: number;
  /** `JETBOX_CONSOLE_TOKEN`: enables the console's admin actions. */
  consoleToken: string | undefined;
}

export function readCliEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  const partitions = Number(env.JETBOX_PARTITIONS ?? DEFAULT_PARTITIONS);
  return {
    databaseUrl: env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    natsUrl: env.NATS_URL ?? DEFAULT_NATS_URL,
    stream: env.JETBOX_STREAM ?? DEFAULT_RELAY_STREAM,
    dlqStream: env.JETBOX_DLQ_STREAM,
    dlqSubjectPrefix: env.JETBOX_DLQ_SUBJECT_PREFIX,
    replicas: env.JETBOX_STREAM_REPLICAS ? Number(env.JETBOX_STREAM_REPLICAS) : undefined,
    partitions,
    consoleToken: env.JETBOX_CONSOLE_TOKEN || undefined,
  };
}
