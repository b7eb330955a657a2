/**
 * `npm run bench:consumer`: the consumer runtime against the machine's ceilings, in one run.
 *   consume   BENCH_EVENTS (50,000) pre-published events; a consumer whose handler inserts one
 *             row via ctx.em, inbox on (events/s)
 *   ceilings  raw consume + ack of the same messages without PostgreSQL; raw single-row insert
 *             transactions over the same number of connections
 *   e2e       publish → commit of the handler's transaction at a steady 1,000 events/s for
 *             BENCH_LATENCY_SECONDS (10). Events are published directly, not through the relay.
 * Prints a table, then one JSON line.
 */
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import pg from 'pg';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { encodeCloudEvent } from '../src/cloudevents/encodeCloudEvent.js';
import { createConsumer } from '../src/consumer/createConsumer.js';
import { InboxMessageSchema } from '../src/inbox/InboxMessage.js';
import { Migration20261121000000JetboxTables } from '../src/migrations/Migration20261121000000JetboxTables.js';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  uniqueStreamName,
} from '../src/testing/index.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const KEYS = 1000;
const RATE = 1000;

const db = await createTestDatabase('jetbox_bench_consumer');
const nc = await connectTestNats();
const stream = uniqueStreamName('JETBOX_BENCH');
const dlq = `${stream}_DLQ`;
const prefix = stream.toLowerCase();
const orm = await MikroORM.init(
  defineConfig({
    clientUrl: db.url,
    entities: [InboxMessageSchema],
    pool: { min: CONCURRENCY, max: CONCURRENCY },
  }),
);
const rows: [string, string][] = [];
try {
  const migration = new Migration20261121000000JetboxTables(orm.em.getDriver(), orm.config);
  void migration.up();
  for (const q of migration.getQueries()) await orm.em.getConnection().execute(q as string);
  await orm.em
    .getConnection()
    .execute('create table bench_effect (id uuid primary key, match_id uuid not null)');
  await orm.em
    .getConnection()
    .execute('create table bench_raw (id uuid primary key, match_id uuid not null)');
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] });
  await jsm.streams.add({ name: dlq, subjects: [`${prefix}_dlq.>`] });
  const js = jetstream(nc);
  const keys = Array.from({ length: KEYS }, () => uuidv7());

  const encode = (i: number) => {
    const key = keys[i % KEYS]!;
    const id = uuidv7();
    const msg = encodeCloudEvent({
      specversion: '1.0',
      id,
      source: '/bench',
      type: 'com.jetbox.match.created',
      subject: key,
      partitionkey: key,
      dataschema: 'urn:jetbox:schema:com.jetbox.match.created:v1',
      data: { matchId: key, userIds: [uuidv7(), uuidv7()], region: 'eu' },
    });
    return { id, ...msg };
  };

  // Pre-publish, pipelined.
  let t = performance.now();
  for (let i = 0; i < EVENTS; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(EVENTS, i + 1000); j++) {
      const m = encode(j);
      batch.push(
        js.publish(`${prefix}.match.created.0`, m.data, { headers: m.headers, msgID: m.id }),
      );
    }
    await Promise.all(batch);
  }
  rows.push(['pre-publish', `${Math.round(EVENTS / ((performance.now() - t) / 1000))} events/s`]);

  // Ceiling 1: raw consume + ack.
  await jsm.consumers.add(stream, {
    durable_name: 'raw',
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: 2000,
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
  const pool = new pg.Pool({ connectionString: db.url, max: CONCURRENCY });
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
  await pool.end();

  // The consumer.
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let processed = 0;
  const consumer = createConsumer({
    orm,
    nats: nc,
    name: 'bench',
    stream,
    concurrency: CONCURRENCY,
    maxAckPending: 4000,
    deadLetterSubjectPrefix: `${prefix}_dlq`,
    logger: pino({ level: 'warn' }),
    handlers: {
      'com.jetbox.match.created': async (data, ctx) => {
        await ctx.em.execute('insert into bench_effect values (?, ?)', [
          ctx.event.id,
          data.matchId,
        ]);
      },
    },
  });
  let done: () => void = () => undefined;
  let txMs = 0;
  consumer.events.on('consumer:processed', (e) => {
    processed++;
    txMs += e.durationMs;
    const sent = e.eventId === undefined ? undefined : sentAt.get(e.eventId);
    if (sent !== undefined) latencies.push(performance.now() - sent);
    if (processed === EVENTS) done();
  });
  const drained = new Promise<void>((resolve) => (done = resolve));
  t = performance.now();
  await consumer.start();
  await drained;
  const consumeEps = EVENTS / ((performance.now() - t) / 1000);

  // e2e at a steady rate (direct publish: publish start → handler commit).
  const total = RATE * LATENCY_SECONDS;
  const start = performance.now();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const m = encode(i);
    sentAt.set(m.id, performance.now());
    inflight.push(
      js.publish(`${prefix}.match.created.0`, m.data, { headers: m.headers, msgID: m.id }),
    );
  }
  await Promise.all(inflight);
  const deadline = Date.now() + 30_000;
  while (latencies.length < total && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  await consumer.stop();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;

  const ceiling = Math.min(rawConsumeEps, rawInsertEps);
  const result = {
    bench: 'consumer',
    consume_eps: Math.round(consumeEps),
    ceiling_eps: Math.round(ceiling),
    ratio: Number((consumeEps / ceiling).toFixed(3)),
    e2e_p50_ms: Number(pct(50).toFixed(2)),
    e2e_p99_ms: Number(pct(99).toFixed(2)),
  };
  rows.push(
    ['raw consume + ack (no PostgreSQL)', `${Math.round(rawConsumeEps)} events/s`],
    [`raw insert transactions (${CONCURRENCY} connections)`, `${Math.round(rawInsertEps)} tx/s`],
    [`consumer, inbox on, concurrency ${CONCURRENCY}`, `${result.consume_eps} events/s`],
    ['ratio to ceiling', String(result.ratio)],
    ['mean transaction (inbox + handler) time', `${(txMs / processed).toFixed(2)} ms`],
    [`e2e at ${RATE}/s (direct publish, no relay) p50`, `${result.e2e_p50_ms} ms`],
    ['e2e p99', `${result.e2e_p99_ms} ms`],
    ['e2e samples', `${latencies.length}/${total}`],
  );
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  console.log(JSON.stringify(result));
} finally {
  await deleteStreams(nc, stream, dlq);
  await nc.close();
  await orm.close(true);
  await db.drop();
}
