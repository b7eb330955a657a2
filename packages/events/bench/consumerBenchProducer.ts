/**
 * The producer side of `npm run bench:consumer`, in its own process as in production (a service
 * with its in-process relay; the consumer is another service). Starts the relay at once (it
 * publishes whatever the outbox holds), then on `{ go: true }` commits events at a steady rate
 * and reports each commit's wall-clock time to the parent: one outbox insert per transaction
 * (PRODUCER=sql, woken by NOTIFY), or MikroORM flushes of a business row and its event
 * (PRODUCER=orm, woken in-process).
 * Environment: DATABASE_URL, NATS_URL, STREAM, PREFIX, PARTITIONS, RATE, SECONDS, PRODUCERS, PRODUCER.
 */
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { initBenchProducers, produceAtRate, produceRowsAtRate } from './benchProducers.js';
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
const viaOrm = env('PRODUCER') === 'orm';
const send = (report: ProducerReport) => process.send!(report);
const now = () => performance.timeOrigin + performance.now();

const producersSetup = await initBenchProducers({
  databaseUrl: env('DATABASE_URL'),
  subjectPrefix: env('PREFIX'),
  partitions,
  pool: { min: producers, max: producers },
});
const { orm, outbox } = producersSetup;
const sqlPool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: producers });
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
  const plan = { rate, total, producers };
  const onCommit = (id: string) => pending.push([id, now()]);
  const behindMs = viaOrm
    ? await produceAtRate(producersSetup, plan, onCommit)
    : await produceRowsAtRate(
        sqlPool,
        { subjectPrefix: env('PREFIX'), partitions },
        plan,
        onCommit,
      );
  clearInterval(flushReports);
  send({ commits: pending });
  send({ done: true, behindMs });
}

async function close() {
  await relay.stop();
  await nc.close();
  await orm.close(true);
  await sqlPool.end();
  process.disconnect();
}
