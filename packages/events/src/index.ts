export { DEFAULT_DATABASE_URL, DEFAULT_NATS_URL } from './config.js';
export { JetboxError, JetboxErrorCode, isJetboxError } from './errors.js';

export { CLOUDEVENTS_JSON } from './cloudevents/contentTypes.js';
export { decodeCloudEvent } from './cloudevents/decodeCloudEvent.js';
export { DEFAULT_CLOUDEVENTS_MODE, encodeCloudEvent } from './cloudevents/encodeCloudEvent.js';

export {
  DEFAULT_PARTITIONS,
  DEFAULT_SUBJECT_PREFIX,
  eventSubject,
  partitionOf,
} from './jetstream/subjects.js';

export { AggregateRoot } from './outbox/AggregateRoot.js';
export { createOutbox } from './outbox/createOutbox.js';
export { DEFAULT_MAX_EVENT_BYTES, resolveOutboxOptions } from './outbox/outboxOptions.js';
export { OutboxMessageSchema } from './outbox/OutboxMessage.js';
export { InboxMessageSchema } from './inbox/InboxMessage.js';
export {
  jetboxEntities,
  jetboxMigrations,
  jetboxOrmOptions,
  migrate,
} from './orm/jetboxOrmOptions.js';

export { createRelay } from './relay/createRelay.js';
export { requeueFailed } from './relay/requeueFailed.js';
export { backlogStats } from './relay/outboxSql.js';
export {
  DEFAULT_RELAY_BACKOFF_BASE_MS,
  DEFAULT_RELAY_BACKOFF_MAX_MS,
  DEFAULT_RELAY_BATCH_SIZE,
  DEFAULT_RELAY_JITTER,
  DEFAULT_RELAY_MAX_ATTEMPTS,
  DEFAULT_RELAY_POLL_INTERVAL_MS,
  DEFAULT_RELAY_PUBLISH_TIMEOUT_MS,
  DEFAULT_RELAY_RETENTION_INTERVAL_MS,
  DEFAULT_RELAY_RETENTION_MS,
  DEFAULT_RELAY_STOP_TIMEOUT_MS,
  DEFAULT_RELAY_STREAM,
  resolveRelayOptions,
  worstRetryGapMs,
} from './relay/relayOptions.js';

export type { CloudEventMessage } from './cloudevents/decodeCloudEvent.js';
export type {
  CloudEventsMode,
  EncodeCloudEventOptions,
  EncodedMessage,
} from './cloudevents/encodeCloudEvent.js';
export type {
  StreamOptions,
  StreamsOptions,
  StreamsOptionsInput,
} from './jetstream/streamsOptions.js';
export type { StreamApplyResult, StreamStatusResult } from './jetstream/applyStreams.js';
export type { ServerFeatures } from './jetstream/serverFeatures.js';
export type { NatsConnectionOptions, NatsTlsOptions } from './jetstream/natsOptions.js';
export type { Logger } from './logger.js';
export type { RecordedEvent } from './outbox/AggregateRoot.js';
export type { Outbox, OutboxEventInput } from './outbox/createOutbox.js';
export type { OutboxOptions, ResolvedOutboxOptions } from './outbox/outboxOptions.js';
export type { OutboxMessage, OutboxStatus } from './outbox/OutboxMessage.js';
export type { InboxMessage } from './inbox/InboxMessage.js';
export type { Relay } from './relay/createRelay.js';
export type { RelayEventMap } from './relay/relayEvents.js';
export type { RelayMetrics } from './relay/relayMetrics.js';
export type { RelayOptions, ResolvedRelayOptions } from './relay/relayOptions.js';
export type { RequeueFilter } from './relay/requeueFailed.js';
