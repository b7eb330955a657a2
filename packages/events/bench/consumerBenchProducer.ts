/**
 * The producer side of `npm run bench:consumer`, in its own process as in production (a service
 * with its in-process relay; the consumer is another service). Starts the relay at once (it
 * publishes whatever the outbox holds), then on `{ go: true }` commits events through MikroORM
 * flushes at a steady rate and reports each commit's wall-clock time to the parent.
 * Environment: DATABASE_URL, NATS_URL, STREAM, PREFIX, PARTITIONS, RATE, SECONDS, PRODUCERS.
 */
import { EntitySchema, MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { connect } from '@nats-io/transport-node';
import { v7 as uuidv7 } from 'uuid';
import { AggregateRoot } from '../src/outbox/AggregateRoot.js';
import { createOutbox } from '../src/outbox/createOutbox.js';
import { jetboxOrmOptions } from '../src/orm/jetboxOrmOptions.js';
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

class Pairing extends AggregateRoot {
  id = uuidv7();
  get aggregateType() {
    return 'match';
  }
  get aggregateId() {
    return this.id;
  }
}
const PairingSchema = new EntitySchema<Pick<Pairing, 'id'>>({
  class: Pairing as never,
  tableName: 'bench_pairing',
  properties: { id: { type: 'uuid', primary: true } },
});

const outbox = createOutbox({ source: '/bench', partitions, subjectPrefix: env('PREFIX') });
const base = jetboxOrmOptions();
const orm = await MikroORM.init(
  defineConfig({
    ...base,
    clientUrl: env('DATABASE_URL'),
    entities: [...base.entities, PairingSchema],
    subscribers: [outbox.subscriber],
    pool: { min: producers, max: producers },
  }),
);
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
  const start = performance.now();
  await Promise.all(
    Array.from({ length: producers }, async (_, w) => {
      for (let i = w; i < total; i += producers) {
        const wait = start + (i * 1000) / rate - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const em = orm.em.fork();
        const p = new Pairing();
        em.persist(p);
        outbox.add(em, {
          type: 'com.jetbox.match.created',
          aggregateType: 'match',
          aggregateId: p.id,
          data: { matchId: p.id, userIds: [uuidv7(), uuidv7()], region: 'eu-west' },
        });
        await em.flush();
        pending.push([p.id, now()]);
      }
    }),
  );
  clearInterval(flushReports);
  send({ commits: pending });
  send({ done: true, behindMs: performance.now() - start - (total * 1000) / rate });
}

async function close() {
  await relay.stop();
  await nc.close();
  await orm.close(true);
  process.disconnect();
}
