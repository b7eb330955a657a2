import {
  createConsumer,
  registerConsumerMetrics,
  type Consumer,
  type ConsumerLogger,
  type ConsumerOptionsInput,
} from '@jetbox/events';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, type Registry } from 'prom-client';
import type { NotifierConfig } from './config.js';
import { createMatchClient } from './http/createMatchClient.js';
import { createResilientHttp, type ResilientHttp } from './http/createResilientHttp.js';
import { createWebhook } from './http/createWebhook.js';
import { httpClientMetrics } from './http/httpClientMetrics.js';
import { notificationHandlers } from './notificationHandlers.js';

export interface NotifierDeps {
  orm: MikroORM;
  nats: NatsConnection;
  registry: Registry;
  logger: ConsumerLogger;
  config: Pick<
    NotifierConfig,
    | 'consumerName'
    | 'concurrency'
    | 'ackWaitMs'
    | 'stream'
    | 'subjectPrefix'
    | 'dlqSubjectPrefix'
    | 'matchServiceUrl'
    | 'webhookUrl'
    | 'http'
  >;
  /** Consumer settings beyond the configuration (tests shorten the backoff). */
  consumer?: Partial<Omit<ConsumerOptionsInput, 'orm' | 'nats' | 'handlers'>>;
}

/** The notifier worker: its consumer (not yet started) and the clients it calls through. */
export interface Notifier {
  consumer: Consumer;
  matchService: ResilientHttp;
  webhook: ResilientHttp | undefined;
}

/** Wires the durable consumer of `<prefix>.match.>` to the notification handlers. */
export function createNotifier(deps: NotifierDeps): Notifier {
  const { config } = deps;
  const metrics = httpClientMetrics(deps.registry);
  const matchService = createResilientHttp('match-service', config.http, metrics);
  const webhook = config.webhookUrl
    ? createResilientHttp('webhook', config.http, metrics)
    : undefined;
  const created = new Counter({
    name: 'notifier_notifications_created_total',
    help: 'Notifications written, by event type (an attempt that rolled back counts too).',
    labelNames: ['type'] as const,
    registers: [deps.registry],
  });
  const consumer = createConsumer({
    orm: deps.orm,
    nats: deps.nats,
    name: config.consumerName,
    stream: config.stream,
    subjects: `${config.subjectPrefix}.match.>`,
    concurrency: config.concurrency,
    ackWaitMs: config.ackWaitMs,
    // Each handler makes HTTP calls: one event per transaction keeps a slow call from holding
    // others' transaction open, and a neighbour's failure from repeating this one's webhook.
    batchSize: 1,
    deadLetterSubjectPrefix: config.dlqSubjectPrefix,
    logger: deps.logger,
    ...deps.consumer,
    handlers: notificationHandlers({
      matches: createMatchClient(config.matchServiceUrl, matchService),
      ...(webhook && config.webhookUrl
        ? { webhook: createWebhook(config.webhookUrl, webhook) }
        : {}),
      created,
    }),
  });
  registerConsumerMetrics(consumer, { registry: deps.registry });
  return { consumer, matchService, webhook };
}
