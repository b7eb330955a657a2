import { DEFAULT_DATABASE_URL, DEFAULT_NATS_URL } from '../config.js';
import { JetboxError } from '../errors.js';
import { DEFAULT_PARTITIONS, DEFAULT_SUBJECT_PREFIX } from '../jetstream/subjects.js';
import { DEFAULT_RELAY_STREAM } from '../relay/relayOptions.js';

/** Everything the `jetbox` CLI reads from the environment, read here and nowhere else. */
export interface CliEnv {
  /** `DATABASE_URL` */
  databaseUrl: string;
  /** `NATS_URL` (comma-separated); `NATS_USER` … `NATS_TLS_*` are read when connecting. */
  natsUrl: string;
  /** `JETBOX_STREAM` */
  stream: string;
  /** `JETBOX_SUBJECT_PREFIX`: the events stream's subjects are `<prefix>.>`. */
  subjectPrefix: string;
  /** `JETBOX_DLQ_STREAM` */
  dlqStream: string | undefined;
  /** `JETBOX_DLQ_SUBJECT_PREFIX`: the dead-letter stream's subjects are `<prefix>.>`. */
  dlqSubjectPrefix: string | undefined;
  /** `JETBOX_STREAM_REPLICAS` */
  replicas: number | undefined;
  /** `JETBOX_PARTITIONS` */
  partitions: number;
  /** `JETBOX_CONSOLE_TOKEN`: enables the console's admin actions. */
  consoleToken: string | undefined;
}

export function readCliEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  const get = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const int = (name: string, min: number, max: number) => {
    const raw = get(name);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw JetboxError.invalidOption(
        name,
        `must be an integer from ${min} to ${max}, got "${raw}"`,
      );
    }
    return n;
  };
  return {
    databaseUrl: get('DATABASE_URL') ?? DEFAULT_DATABASE_URL,
    natsUrl: get('NATS_URL') ?? DEFAULT_NATS_URL,
    stream: get('JETBOX_STREAM') ?? DEFAULT_RELAY_STREAM,
    subjectPrefix: get('JETBOX_SUBJECT_PREFIX') ?? DEFAULT_SUBJECT_PREFIX,
    dlqStream: get('JETBOX_DLQ_STREAM'),
    dlqSubjectPrefix: get('JETBOX_DLQ_SUBJECT_PREFIX'),
    replicas: int('JETBOX_STREAM_REPLICAS', 1, 5),
    partitions: int('JETBOX_PARTITIONS', 1, 1024) ?? DEFAULT_PARTITIONS,
    consoleToken: get('JETBOX_CONSOLE_TOKEN'),
  };
}
