import {
  DEFAULT_DLQ_STREAM,
  DEFAULT_DLQ_SUBJECT_PREFIX,
  DEFAULT_NATS_URL,
  DEFAULT_RELAY_STREAM,
  DEFAULT_SUBJECT_PREFIX,
  natsOptionsFromEnv,
  type NatsConnectionOptions,
} from '@jetbox/events';
import type { EnvReader } from './envReader.js';

/** The jetbox settings every service reads the same way. */
export interface JetboxEnv {
  /** `DATABASE_URL`; each service has its own default database. */
  databaseUrl: string;
  /**
   * NATS connection: `NATS_URL` (comma-separated servers), `NATS_USER`, `NATS_PASSWORD`,
   * `NATS_TOKEN`, `NATS_CREDS`, `NATS_NKEY`, `NATS_TLS_CA`, `NATS_TLS_CERT`, `NATS_TLS_KEY`.
   * @defaultValue servers `nats://127.0.0.1:4222`
   */
  nats: Partial<NatsConnectionOptions>;
  /** Events stream (`JETBOX_STREAM`). @defaultValue `JETBOX_EVENTS` */
  stream: string;
  /** First token of event subjects (`JETBOX_SUBJECT_PREFIX`). @defaultValue `events` */
  subjectPrefix: string;
  /** Dead-letter stream (`JETBOX_DLQ_STREAM`). @defaultValue `JETBOX_DLQ` */
  dlqStream: string;
  /** Its subjects are `<prefix>.>` (`JETBOX_DLQ_SUBJECT_PREFIX`). @defaultValue `dlq` */
  dlqSubjectPrefix: string;
  /** Replicas of both streams (`JETBOX_STREAM_REPLICAS`): 3 in a cluster. @defaultValue 1 */
  streamReplicas: number;
  /**
   * Where traces go: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`
   * + `/v1/traces` (OTLP/HTTP). @defaultValue none: tracing off
   */
  otlpTracesUrl: string | undefined;
}

export function readJetboxEnv(
  read: EnvReader,
  env: Record<string, string | undefined>,
  defaultDatabaseUrl: string,
): JetboxEnv {
  return {
    databaseUrl: read.string('DATABASE_URL', defaultDatabaseUrl),
    nats: { servers: [DEFAULT_NATS_URL], ...natsOptionsFromEnv(env) },
    stream: read.string('JETBOX_STREAM', DEFAULT_RELAY_STREAM),
    subjectPrefix: read.string('JETBOX_SUBJECT_PREFIX', DEFAULT_SUBJECT_PREFIX),
    dlqStream: read.string('JETBOX_DLQ_STREAM', DEFAULT_DLQ_STREAM),
    dlqSubjectPrefix: read.string('JETBOX_DLQ_SUBJECT_PREFIX', DEFAULT_DLQ_SUBJECT_PREFIX),
    streamReplicas: read.integer('JETBOX_STREAM_REPLICAS', 1, 1, 5),
    otlpTracesUrl: otlpTracesUrl(read),
  };
}

function otlpTracesUrl(read: EnvReader): string | undefined {
  const traces = read.httpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (traces) return traces;
  const base = read.httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT');
  return base ? `${base}/v1/traces` : undefined;
}
