import { applyStreams, resolveStreamsOptions, type StreamApplyResult } from '@jetbox/events';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetboxEnv } from './readJetboxEnv.js';

/**
 * Declares the events and dead-letter streams as the environment describes them (create or
 * update, idempotent), so a service can start before or after any other.
 */
export async function applyServiceStreams(
  nats: NatsConnection,
  env: Pick<
    JetboxEnv,
    'stream' | 'subjectPrefix' | 'dlqStream' | 'dlqSubjectPrefix' | 'streamReplicas'
  >,
): Promise<StreamApplyResult[]> {
  return applyStreams(
    await jetstreamManager(nats),
    resolveStreamsOptions({
      events: {
        name: env.stream,
        subjects: [`${env.subjectPrefix}.>`],
        replicas: env.streamReplicas,
      },
      deadLetter: {
        name: env.dlqStream,
        subjects: [`${env.dlqSubjectPrefix}.>`],
        replicas: env.streamReplicas,
      },
    }),
  );
}
