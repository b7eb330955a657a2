import { Counter, Gauge, Histogram, register as globalRegistry, type Registry } from 'prom-client';
import type { ConsumerEventMap } from './consumerEvents.js';
import type { Consumer } from './createConsumer.js';

export interface ConsumerMetricsOptions {
  /** @defaultValue prom-client's global registry */
  registry?: Registry;
  /** @defaultValue `jetbox_consumer_` */
  prefix?: string;
}

export const DEFAULT_CONSUMER_METRICS_PREFIX = 'jetbox_consumer_';

interface ConsumerMetrics {
  processed: Counter<'consumer'>;
  duplicates: Counter<'consumer'>;
  ignored: Counter<'consumer'>;
  retries: Counter<'consumer'>;
  deferred: Counter<'consumer'>;
  deadLettered: Counter<'consumer' | 'reason'>;
  duration: Histogram<'consumer'>;
  batchSize: Histogram<'consumer'>;
  consumers: Set<Consumer>;
}

const byRegistry = new WeakMap<Registry, Map<string, ConsumerMetrics>>();

/**
 * Counts a consumer's outcomes in Prometheus metrics (`<prefix>processed_total`,
 * `duplicates_total`, `ignored_total`, `retries_total`, `deferred_total`, `dead_lettered_total{reason}`,
 * `handler_duration_seconds` and `batch_size` per committed transaction) and reports its lag from the server's consumer info at scrape
 * time (`lag`: not yet delivered, `ack_pending`). Several consumers can share a registry.
 * Returns a function that stops counting this consumer.
 */
export function registerConsumerMetrics(
  consumer: Consumer,
  options: ConsumerMetricsOptions = {},
): () => void {
  const registry = options.registry ?? globalRegistry;
  const prefix = options.prefix ?? DEFAULT_CONSUMER_METRICS_PREFIX;
  let perPrefix = byRegistry.get(registry);
  if (!perPrefix) byRegistry.set(registry, (perPrefix = new Map<string, ConsumerMetrics>()));
  let m = perPrefix.get(prefix);
  if (!m) perPrefix.set(prefix, (m = createMetrics(registry, prefix)));
  const metrics = m;
  const consumer_ = consumer.options.name;
  const labels = { consumer: consumer_ };
  const listeners: { [K in keyof ConsumerEventMap]?: (...args: ConsumerEventMap[K]) => void } = {
    'consumer:processed': () => metrics.processed.inc(labels),
    'consumer:committed': (e) => {
      metrics.duration.observe(labels, e.durationMs / 1000);
      metrics.batchSize.observe(labels, e.events);
    },
    'consumer:duplicate': () => metrics.duplicates.inc(labels),
    'consumer:ignored': () => metrics.ignored.inc(labels),
    'consumer:retrying': () => metrics.retries.inc(labels),
    'consumer:deferred': () => metrics.deferred.inc(labels),
    'consumer:deadLettered': (e) =>
      metrics.deadLettered.inc({ consumer: consumer_, reason: e.reason }),
  };
  // Subscribed and unsubscribed through one untyped view: the map above is what is typed.
  const emitter = consumer.events as unknown as NodeJS.EventEmitter;
  const entries = Object.entries(listeners) as [string, (...args: unknown[]) => void][];
  for (const [event, listener] of entries) emitter.on(event, listener);
  metrics.consumers.add(consumer);
  return () => {
    for (const [event, listener] of entries) emitter.off(event, listener);
    metrics.consumers.delete(consumer);
  };
}

function createMetrics(registry: Registry, prefix: string): ConsumerMetrics {
  const registers = [registry];
  const consumers = new Set<Consumer>();
  const counter = (name: string, help: string) =>
    new Counter({ name: prefix + name, help, labelNames: ['consumer'] as const, registers });
  const lagGauge = (
    name: string,
    help: string,
    pick: (i: { num_pending: number; num_ack_pending: number }) => number,
  ) =>
    new Gauge({
      name: prefix + name,
      help,
      labelNames: ['consumer'] as const,
      registers,
      async collect() {
        this.reset();
        await Promise.all(
          [...consumers].map(async (c) => {
            // A scrape must not fail because one consumer (or NATS) is unavailable.
            const info = await c.info().catch(() => undefined);
            if (info) this.set({ consumer: c.options.name }, pick(info));
          }),
        );
      },
    });
  lagGauge(
    'lag',
    'Messages of the consumer not yet delivered (num_pending).',
    (i) => i.num_pending,
  );
  lagGauge('ack_pending', 'Messages delivered and not yet acknowledged.', (i) => i.num_ack_pending);
  return {
    consumers,
    processed: counter('processed_total', 'Events whose handler committed.'),
    duplicates: counter(
      'duplicates_total',
      'Redelivered events skipped because the inbox had them.',
    ),
    ignored: counter('ignored_total', 'Events of a type without a handler, acknowledged.'),
    retries: counter('retries_total', 'Handler failures that were retried.'),
    deferred: counter(
      'deferred_total',
      'Handler attempts put off by a RetryLaterError (a dependency unavailable); not counted as attempts.',
    ),
    deadLettered: new Counter({
      name: `${prefix}dead_lettered_total`,
      help: 'Messages sent to the dead-letter stream, by reason.',
      labelNames: ['consumer', 'reason'] as const,
      registers,
    }),
    duration: new Histogram({
      name: `${prefix}handler_duration_seconds`,
      help: 'Per transaction (one batch of events), the time from its start, handlers included, to its commit.',
      labelNames: ['consumer'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    batchSize: new Histogram({
      name: `${prefix}batch_size`,
      help: 'Events per committed transaction.',
      labelNames: ['consumer'] as const,
      buckets: [1, 2, 5, 10, 20, 50, 100, 200],
      registers,
    }),
  };
}
