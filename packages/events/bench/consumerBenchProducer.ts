/**
 * The producer side of `npm run bench:consumer`, in its own process as in production (a service
 * with its in-process relay; the consumer is another service). Starts the relay at once (it
 * publishes whatever the outbox holds), then on `{ go: true }` commits events through MikroORM
 * flushes at a steady rate and reports each commit's wall-clock time to the parent.
 * Environment: DATABASE_URL, NATS_URL, STREAM, PREFIX, PARTITIONS, RATE, SECONDS, PRODUCERS.
 */
import { connect } from '@nats-io/transport-node';
import { initBenchProducers, produceAtRate } from './benchProducers.js';
import { createRelay } from '../src/relay/createRelay.js';

/** Messages to the parent. */
export type ProducerReport =
  | { ready: true }
  /** Aggregate ids with the wall-clock time (ms, sub-ms precision) their flush committed. */
  | { commits: [string, number][] }
  | { done: true; behindMs: number };

const env = (name: string) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const rate = Number(env('RATE'));
const total = rate * Number(env('SECONDS'));
const producers = Number(env('PRODUCERS'));
const partitions = Number(env('PARTITIONS'));
const send = (report: ProducerReport) => process.send!(report);
const now = () => performance.timeOrigin + performance.now();

const producersSetup = await initBenchProducers({
  databaseUrl: env('DATABASE_URL'),
  subjectPrefix: env('PREFIX'),
  partitions,
  pool: { min: producers, max: producers },
});
const { orm, outbox } = producersSetup;
const nc = await connect({ servers: env('NATS_URL'), noAsyncTraces: true });
const relay = createRelay({
  databaseUrl: env('DATABASE_URL'),
  nats: nc,
  outbox,
  stream: env('STREAM'),
});
await relay.start();
send({ ready: true });

process.on('message', (message: { go?: boolean; stop?: boolean }) => {
  if (message.go) void produce();
  if (message.stop) void close();
});

async function produce() {
  let pending: [string, number][] = [];
  const flushReports = setInterval(() => {
    if (pending.length > 0) send({ commits: pending });
    pending = [];
  }, 100);
  const behindMs = await produceAtRate(producersSetup, { rate, total, producers }, (id) =>
    pending.push([id, now()]),
  );
  clearInterval(flushReports);
  send({ commits: pending });
  send({ done: true, behindMs });
}

async function close() {
  await relay.stop();
  await nc.close();
  await orm.close(true);
  process.disconnect();
}
