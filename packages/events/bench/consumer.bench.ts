/**
 * `npm run bench:consumer`: the consumer runtime against the machine's ceilings, in one run.
 *   consume   BENCH_EVENTS (50,000) events over 1,000 keys, written to the outbox and published
 *             by the relay beforehand; a consumer whose handler inserts one row via ctx.em, inbox
 *             on, BENCH_CONCURRENCY (16) transactions of up to BENCH_BATCH_SIZE (the default)
 *             events (events/s)
 *   ceilings  raw consume + ack of the same messages without PostgreSQL; raw single-row insert
 *             transactions over the same number of connections
 *   e2e       events committed through MikroORM flushes (business row + outbox row) at a steady
 *             1,000/s for BENCH_LATENCY_SECONDS (10), published by an in-process relay, handled
 *             by the consumer: commit of the outbox row → commit of the handler's transaction
 * Prints a table, then one JSON line.
 */
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { EntitySchema, MikroORM, defineConfig } from '@mikro-orm/postgresql';
import pg from 'pg';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { createConsumer } from '../src/consumer/createConsumer.js';
import { DEFAULT_BATCH_SIZE } from '../src/consumer/consumerOptions.js';
import { partitionOf } from '../src/jetstream/subjects.js';
import { AggregateRoot } from '../src/outbox/AggregateRoot.js';
import { createOutbox } from '../src/outbox/createOutbox.js';
import { jetboxOrmOptions, migrate } from '../src/orm/jetboxOrmOptions.js';
import { createRelay } from '../src/relay/createRelay.js';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  uniqueName,
  uniqueStreamName,
} from '../src/testing/index.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? DEFAULT_BATCH_SIZE);
const KEYS = 1000;
const RATE = 1000;
const PARTITIONS = 16;
const PRODUCERS = 8;

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

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const db = await createTestDatabase('jetbox_bench_consumer');
const nc = await connectTestNats();
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
const prefix = uniqueName('bench').replace(/_/g, '');
const stream = uniqueStreamName('JETBOX_BENCH');
const dlq = `${stream}_DLQ`;
const outbox = createOutbox({ source: '/bench', partitions: PARTITIONS, subjectPrefix: prefix });
const base = jetboxOrmOptions();
const producerOrm = await MikroORM.init(
  defineConfig({
    ...base,
    clientUrl: db.url,
    entities: [...base.entities, PairingSchema],
    subscribers: [outbox.subscriber],
    pool: { min: 1, max: PRODUCERS },
  }),
);
const consumerOrm = await MikroORM.init(
  defineConfig({ ...base, clientUrl: db.url, pool: { min: CONCURRENCY, max: CONCURRENCY } }),
);
const pool = new pg.Pool({ connectionString: db.url, max: CONCURRENCY });
const relay = createRelay({ databaseUrl: db.url, nats: nc, outbox, stream });
const rows: [string, string][] = [];
try {
  await migrate(producerOrm);
  await pool.query('create table bench_pairing (id uuid primary key)');
  await pool.query('create table bench_effect (id uuid primary key, match_id uuid not null)');
  await pool.query('create table bench_raw (id uuid primary key, match_id uuid not null)');
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], duplicate_window: 120e9 });
  await jsm.streams.add({ name: dlq, subjects: [`${prefix}_dlq.>`] });

  // Outbox rows as the outbox writes them, 50 events per key, then the relay publishes them.
  const keys = Array.from({ length: KEYS }, () => uuidv7());
  for (let start = 0; start < EVENTS; start += 10_000) {
    const ids: string[] = [];
    const aggs: string[] = [];
    const parts: number[] = [];
    const data: string[] = [];
    for (let i = start; i < Math.min(EVENTS, start + 10_000); i++) {
      const key = keys[i % KEYS]!;
      ids.push(uuidv7());
      aggs.push(key);
      parts.push(partitionOf(key, PARTITIONS));
      data.push(JSON.stringify({ matchId: key, userIds: [uuidv7(), uuidv7()], region: 'eu' }));
    }
    await pool.query(
      `insert into jetbox_outbox (id, aggregate_type, aggregate_id, partition, type, source, dataschema, nats_subject, data)
       select v.id, 'match', v.agg, v.p, 'com.jetbox.match.created', '/bench', 'urn:jetbox:schema:com.jetbox.match.created:v1',
              $5 || '.match.created.' || v.p, v.data::jsonb
       from unnest($1::uuid[], $2::text[], $3::int[], $4::text[]) with ordinality v(id, agg, p, data, n) order by v.n`,
      [ids, aggs, parts, data, prefix],
    );
  }
  let t = performance.now();
  await relay.start();
  await waitUntil(
    'the relay publishing the pre-loaded events',
    async () => (await jsm.streams.info(stream)).state.messages >= EVENTS,
    300_000,
  );
  rows.push([
    'relay drain (pre-load)',
    `${Math.round(EVENTS / ((performance.now() - t) / 1000))} events/s`,
  ]);

  // Ceiling 1: raw consume + ack.
  await jsm.consumers.add(stream, {
    durable_name: 'raw',
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: 4000,
  });
  t = performance.now();
  await new Promise<void>((resolve, reject) => {
    let n = 0;
    void js.consumers.get(stream, 'raw').then(async (c) => {
      const msgs = await c.consume({
        max_messages: 1000,
        callback: (m) => {
          m.ack();
          if (++n === EVENTS) {
            msgs.stop();
            resolve();
          }
        },
      });
    }, reject);
  });
  const rawConsumeEps = EVENTS / ((performance.now() - t) / 1000);

  // Ceiling 2: raw single-row insert transactions over CONCURRENCY connections.
  t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      const client = await pool.connect();
      try {
        while (next < EVENTS) {
          next++;
          await client.query('begin');
          await client.query('insert into bench_raw values ($1, $2)', [uuidv7(), uuidv7()]);
          await client.query('commit');
        }
      } finally {
        client.release();
      }
    }),
  );
  const rawInsertEps = EVENTS / ((performance.now() - t) / 1000);

  // The consumer.
  const aggregateOf = new Map<string, string>();
  const committedAt = new Map<string, number>();
  const latencies: number[] = [];
  let measuring = false;
  let processed = 0;
  let txMs = 0;
  let batched = 0;
  const consumer = createConsumer({
    orm: consumerOrm,
    nats: nc,
    name: 'bench',
    stream,
    concurrency: CONCURRENCY,
    batchSize: BATCH_SIZE,
    maxAckPending: 4000,
    deadLetterSubjectPrefix: `${prefix}_dlq`,
    logger: pino({ level: 'warn' }),
    handlers: {
      'com.jetbox.match.created': async (data, ctx) => {
        if (measuring) aggregateOf.set(ctx.event.id, data.matchId);
        await ctx.em.execute('insert into bench_effect values (?, ?)', [
          ctx.event.id,
          data.matchId,
        ]);
      },
    },
  });
  let drained: () => void = () => undefined;
  const allProcessed = new Promise<void>((resolve) => (drained = resolve));
  consumer.events.on('consumer:processed', (e) => {
    const now = performance.now();
    processed++;
    txMs += e.durationMs;
    batched += e.batchSize;
    if (processed === EVENTS) drained();
    const aggregate = e.eventId === undefined ? undefined : aggregateOf.get(e.eventId);
    const committed = aggregate === undefined ? undefined : committedAt.get(aggregate);
    if (committed !== undefined) latencies.push(now - committed);
  });
  t = performance.now();
  await consumer.start();
  const limit = setTimeout(() => drained(), 600_000);
  await allProcessed;
  clearTimeout(limit);
  if (processed < EVENTS) throw new Error(`only ${processed} of ${EVENTS} processed in 600 s`);
  const consumeEps = EVENTS / ((performance.now() - t) / 1000);
  const meanTxMs = txMs / processed;
  const meanBatch = batched / processed;

  // e2e at a steady rate: MikroORM flush (business row + outbox row) → relay → consumer commit.
  measuring = true;
  // Where the time goes: arrival of the message on a core subscription to the stream's subjects
  // (JetStream delivers it once stored), i.e. the relay's share.
  const storedAt = new Map<string, number>();
  const sub = nc.subscribe(`${prefix}.>`, {
    callback: (_err, msg) => {
      const key = msg.headers?.get('ce-partitionkey');
      if (key) storedAt.set(key, performance.now());
    },
  });
  const total = RATE * LATENCY_SECONDS;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: PRODUCERS }, async (_, w) => {
      for (let i = w; i < total; i += PRODUCERS) {
        const wait = start + (i * 1000) / RATE - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const em = producerOrm.em.fork();
        const p = new Pairing();
        em.persist(p);
        outbox.add(em, {
          type: 'com.jetbox.match.created',
          aggregateType: 'match',
          aggregateId: p.id,
          data: { matchId: p.id, userIds: [uuidv7(), uuidv7()], region: 'eu-west' },
        });
        await em.flush();
        committedAt.set(p.id, performance.now());
      }
    }),
  );
  const behind = performance.now() - start - (total * 1000) / RATE;
  await waitUntil('e2e samples', () => latencies.length >= total, 30_000).catch(() => undefined);
  await consumer.stop();
  sub.unsubscribe();
  latencies.sort((a, b) => a - b);
  const relayShare = [...committedAt]
    .map(([aggregate, at]) => (storedAt.get(aggregate) ?? NaN) - at)
    .filter((x) => Number.isFinite(x))
    .sort((a, b) => a - b);

  const ceiling = Math.min(rawConsumeEps, rawInsertEps);
  const result = {
    bench: 'consumer',
    consume_eps: Math.round(consumeEps),
    ceiling_eps: Math.round(ceiling),
    ratio: Number((consumeEps / ceiling).toFixed(3)),
    e2e_p50_ms: Number(percentile(latencies, 50).toFixed(2)),
    e2e_p99_ms: Number(percentile(latencies, 99).toFixed(2)),
  };
  rows.push(
    ['raw consume + ack (no PostgreSQL)', `${Math.round(rawConsumeEps)} events/s`],
    [`raw insert transactions (${CONCURRENCY} connections)`, `${Math.round(rawInsertEps)} tx/s`],
    [
      `consumer, inbox on, concurrency ${CONCURRENCY}, batchSize ${BATCH_SIZE}`,
      `${result.consume_eps} events/s`,
    ],
    ['ratio to ceiling', String(result.ratio)],
    ['mean events per transaction', meanBatch.toFixed(1)],
    ['mean transaction (inbox + handlers) time', `${meanTxMs.toFixed(2)} ms`],
    [`e2e at ${RATE}/s (outbox commit → handler commit, via relay) p50`, `${result.e2e_p50_ms} ms`],
    ['e2e p99', `${result.e2e_p99_ms} ms`],
    [
      'of which commit → stored in the stream (relay) p50 / p99',
      `${percentile(relayShare, 50).toFixed(2)} / ${percentile(relayShare, 99).toFixed(2)} ms`,
    ],
    ['e2e max', `${(latencies.at(-1) ?? NaN).toFixed(2)} ms`],
    ['e2e samples', `${latencies.length}/${total}`],
    ['producers behind schedule at the end', `${Math.round(behind)} ms`],
  );
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  console.log(JSON.stringify(result));
} finally {
  await relay.stop();
  await pool.end();
  await deleteStreams(nc, stream, dlq);
  await nc.close();
  await producerOrm.close(true);
  await consumerOrm.close(true);
  await db.drop();
}
