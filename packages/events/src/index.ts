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

export {
  DEFAULT_DLQ_STREAM,
  DEFAULT_DLQ_STREAM_OPTIONS,
  DEFAULT_DLQ_SUBJECT_PREFIX,
  DEFAULT_EVENTS_STREAM,
  DEFAULT_EVENTS_STREAM_OPTIONS,
  resolveStreamsOptions,
} from './jetstream/streamsOptions.js';
export { applyStreams, streamsStatus } from './jetstream/applyStreams.js';
export { serverFeatures, serverFeaturesOf } from './jetstream/serverFeatures.js';
export {
  DEFAULT_NATS_MAX_RECONNECT_ATTEMPTS,
  DEFAULT_NATS_RECONNECT_TIME_WAIT_MS,
  DEFAULT_NATS_TIMEOUT_MS,
  natsOptionsFromEnv,
  resolveNatsOptions,
} from './jetstream/natsOptions.js';
export { connectNats, natsConnectOptions } from './jetstream/connectNats.js';
export { createLogger } from './logger.js';

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

export { createConsumer } from './consumer/createConsumer.js';
export {
  DEFAULT_ACK_WAIT_MS as DEFAULT_CONSUMER_ACK_WAIT_MS,
  DEFAULT_BATCH_SIZE as DEFAULT_CONSUMER_BATCH_SIZE,
  DEFAULT_CONCURRENCY as DEFAULT_CONSUMER_CONCURRENCY,
  DEFAULT_DEAD_LETTER_SUBJECT_PREFIX,
  DEFAULT_HANDLER_TIMEOUT_MS,
  DEFAULT_MAX_ACK_PENDING as DEFAULT_CONSUMER_MAX_ACK_PENDING,
  DEFAULT_MAX_DELIVER as DEFAULT_CONSUMER_MAX_DELIVER,
  DEFAULT_PULL_EXPIRES_MS as DEFAULT_CONSUMER_PULL_EXPIRES_MS,
  DEFAULT_STOP_TIMEOUT_MS as DEFAULT_CONSUMER_STOP_TIMEOUT_MS,
  resolveConsumerOptions,
} from './consumer/consumerOptions.js';
export { NonRetryableError, isNonRetryableError } from './consumer/NonRetryableError.js';
export { RetryLaterError, isRetryLaterError } from './consumer/RetryLaterError.js';
export { DEFAULT_BACKOFF, backoffDelay } from './consumer/backoffDelay.js';
export { DeadLetterHeader, deadLetterSubject } from './consumer/deadLetterHeaders.js';
export { ensureConsumer } from './consumer/ensureConsumer.js';
export {
  DEFAULT_CONSUMER_METRICS_PREFIX,
  registerConsumerMetrics,
} from './consumer/registerConsumerMetrics.js';
export {
  DEFAULT_PRUNE_BATCH_SIZE,
  DEFAULT_PRUNE_MAX_BATCHES,
  pruneInbox,
} from './consumer/pruneInbox.js';
export { toDeadLetter } from './dlq/DeadLetter.js';
export { DEFAULT_DEAD_LETTER_LIST_LIMIT, listDeadLetters } from './dlq/listDeadLetters.js';
export { showDeadLetter } from './dlq/showDeadLetter.js';
export { redriveDeadLetters, redriveMsgId } from './dlq/redriveDeadLetters.js';
export { purgeDeadLetters } from './dlq/purgeDeadLetters.js';

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
export type { Consumer } from './consumer/createConsumer.js';
export type {
  ConsumerLogger,
  ConsumerOptions,
  ConsumerOptionsInput,
  DeliveryInfo,
  EventHandler,
  EventHandlers,
  HandlerContext,
} from './consumer/consumerOptions.js';
export type { ConsumerEventMap, MessageRef } from './consumer/consumerEvents.js';
export type { BackoffOptions } from './consumer/backoffDelay.js';
export type { DeadLetterReason } from './consumer/deadLetterHeaders.js';
export type { ConsumerMetricsOptions } from './consumer/registerConsumerMetrics.js';
export type { PruneInboxOptions } from './consumer/pruneInbox.js';
export type { DeadLetter } from './dlq/DeadLetter.js';
export type { ListDeadLettersOptions } from './dlq/listDeadLetters.js';
export type { RedriveDeadLettersOptions, RedriveResult } from './dlq/redriveDeadLetters.js';
export type { PurgeDeadLettersOptions } from './dlq/purgeDeadLetters.js';
