import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The relay's Prometheus metrics, all prefixed `jetbox_relay_`. */
export function createRelayMetrics(registry: Registry = new Registry()) {
  const registers = [registry];
  return {
    registry,
    published: new Counter({
      name: 'jetbox_relay_published_total',
      help: 'Events published and acknowledged by JetStream (duplicates included)',
      registers,
    }),
    duplicates: new Counter({
      name: 'jetbox_relay_duplicates_total',
      help: 'PubAcks reporting a duplicate (a republish after a lost mark)',
      registers,
    }),
    publishFailures: new Counter({
      name: 'jetbox_relay_publish_failures_total',
      help: 'Failed publish attempts (each schedules a retry or fails the row)',
      registers,
    }),
    failed: new Counter({
      name: 'jetbox_relay_failed_total',
      help: 'Rows that reached max attempts and became failed',
      registers,
    }),
    batchSize: new Histogram({
      name: 'jetbox_relay_batch_size',
      help: 'Rows per claimed batch',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2000],
      registers,
    }),
    backlog: new Gauge({
      name: 'jetbox_relay_backlog',
      help: 'Pending outbox rows (all partitions)',
      registers,
    }),
    failedRows: new Gauge({
      name: 'jetbox_relay_failed_rows',
      help: 'Outbox rows in status failed',
      registers,
    }),
    oldestPendingAge: new Gauge({
      name: 'jetbox_relay_oldest_pending_age_seconds',
      help: 'Age of the oldest pending outbox row',
      registers,
    }),
    ownedPartitions: new Gauge({
      name: 'jetbox_relay_owned_partitions',
      help: 'Partitions this relay publishes',
      registers,
    }),
  };
}

export type RelayMetrics = ReturnType<typeof createRelayMetrics>;
