/**
 * `npm run bench:consumer`: the consumer runtime against the machine's ceilings, in one run.
 *   consume   BENCH_EVENTS (50,000) events over 1,000 keys, written to the outbox and published
 *             by the relay beforehand; a consumer whose handler inserts one row via ctx.em, inbox
 *             on, BENCH_CONCURRENCY (16) transactions of up to BENCH_BATCH_SIZE (the default)
 *             events (events/s)
 *   ceilings  raw consume + ack of the same messages without PostgreSQL; raw single-row insert
 *             transactions over the same number of connections
 *   e2e       events committed at a steady 1,000/s for BENCH_LATENCY_SECONDS (10), after
 *             BENCH_WARMUP_SECONDS (3) at the same rate, by a producer
 *             process with its in-process relay (`consumerBenchProducer.ts`), as a service
 *             would, and handled by the consumer in this process: commit of the outbox row →
 *             commit of the handler's transaction. BENCH_E2E_PRODUCER=sql (default) commits one
 *             outbox insert per transaction; =orm commits MikroORM flushes of a business row and
 *             its event, whose CPU (≈ 0.75 ms per event with the relay) saturates the 2-core
 *             machine at 1,000/s beside the consumer, PostgreSQL and nats-server, so the figure
 *             then measures the run queue; bench:relay measures that producer path.
 *   e2e ceiling the same e2e phase again, handled by the least a consumer can do with the same
 *             statements: plain pg connections (begin, inbox insert, one insert per event,
 *             commit), what one pull delivers per transaction, no runtime around it
 * Prints a table, then one JSON line.
 */
import { BENCH_PAIRING_DDL, insertOutboxRows, matchCreatedData } from './benchProducers.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import pg from 'pg';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { createConsumer } from '../src/consumer/createConsumer.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_LINGER_MS } from '../src/consumer/consumerOptions.js';
import { jetboxOrmOptions, migrate } from '../src/orm/jetboxOrmOptions.js';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  testNatsUrl,
  uniqueName,
  uniqueStreamName,
} from '../src/testing/index.js';
import type { ProducerReport } from './consumerBenchProducer.js';
import { backendPids, CpuMeter, listenerPid } from './processCpu.js';
import { storedTimes } from './storedTimes.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
// The e2e rate runs this long before the measured seconds (cold JIT paths and connections).
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? DEFAULT_BATCH_SIZE);
const LINGER_MS = Number(process.env.BENCH_LINGER_MS ?? DEFAULT_LINGER_MS);
// e.g. BENCH_CPU_PROFILE=/tmp/prof: this process's CPU profile of the consume phase and of each
// e2e phase (consume.cpuprofile, e2e.cpuprofile, e2e-raw.cpuprofile), for Chrome's DevTools.
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE;
const KEYS = 1000;
const RATE = 1000;
const PARTITIONS = 16;
const PRODUCERS = 8;
const E2E_PRODUCER = process.env.BENCH_E2E_PRODUCER ?? 'sql';
if (E2E_PRODUCER !== 'sql' && E2E_PRODUCER !== 'orm') {
  throw new Error(`BENCH_E2E_PRODUCER must be sql or orm, not ${E2E_PRODUCER}`);
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
/** Wall-clock ms with sub-ms precision, comparable between processes. */
const now = () => performance.timeOrigin + performance.now();

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
const orm = await MikroORM.init(
  defineConfig({
    ...jetboxOrmOptions(),
    clientUrl: db.url,
    pool: { min: CONCURRENCY, max: CONCURRENCY },
  }),
);
const pool = new pg.Pool({ connectionString: db.url, max: CONCURRENCY });
const listeners = new Set<(report: ProducerReport) => void>();
const natsPid = listenerPid(Number(new URL(testNatsUrl()).port || 4222));
let producer: ChildProcess | undefined;
const rows: [string, string][] = [];
try {
  await migrate(orm);
  await pool.query(BENCH_PAIRING_DDL);
  await pool.query('create table bench_effect (id uuid primary key, match_id uuid not null)');
  await pool.query('create table bench_raw (id uuid primary key, match_id uuid not null)');
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], duplicate_window: 120e9 });
  await jsm.streams.add({ name: dlq, subjects: [`${prefix}_dlq.>`] });

  // Outbox rows as the outbox writes them, 50 events per key; the producer's relay publishes them.
  const keys = Array.from({ length: KEYS }, () => uuidv7());
  for (let start = 0; start < EVENTS; start += 10_000) {
    const rows = Array.from({ length: Math.min(10_000, EVENTS - start) }, (_, n) => {
      const aggregateId = keys[(start + n) % KEYS]!;
      return { id: uuidv7(), aggregateId, data: matchCreatedData(aggregateId) };
    });
    await insertOutboxRows(pool, { subjectPrefix: prefix, partitions: PARTITIONS }, rows);
  }
  let t = performance.now();
  producer = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./consumerBenchProducer.ts', import.meta.url))],
    {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        NATS_URL: testNatsUrl(),
        STREAM: stream,
        PREFIX: prefix,
        PARTITIONS: String(PARTITIONS),
        RATE: String(RATE),
        SECONDS: String(WARMUP_SECONDS + LATENCY_SECONDS),
        PRODUCERS: String(PRODUCERS),
        PRODUCER: E2E_PRODUCER,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  producer.on('message', (report: ProducerReport) => listeners.forEach((l) => l(report)));
  await waitUntil(
    'the relay publishing the pre-loaded events',
    async () => (await jsm.streams.info(stream)).state.messages >= EVENTS,
    300_000,
  );
  rows.push([
    'relay drain (pre-load, producer process start included)',
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

  // The consumer: first the pre-loaded backlog, then the steady stream.
  const aggregateOf = new Map<string, string>();
  // Commit times arrive from the producer in 100 ms reports, often after the handling.
  const committedAt = new Map<string, number>();
  const handledAt = new Map<string, number>();
  let measuring = false;
  let processed = 0;
  // Per transaction (consumer:committed), not per event, which would weight big batches more.
  let transactions = 0;
  let committedEvents = 0;
  let txMs = 0;
  const consumer = createConsumer({
    orm,
    nats: nc,
    name: 'bench',
    stream,
    concurrency: CONCURRENCY,
    batchSize: BATCH_SIZE,
    lingerMs: LINGER_MS,
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
  consumer.events.on('consumer:committed', (e) => {
    transactions++;
    committedEvents += e.events;
    txMs += e.durationMs;
  });
  consumer.events.on('consumer:processed', (e) => {
    const at = now();
    processed++;
    if (processed === EVENTS) drained();
    const aggregate = e.eventId === undefined ? undefined : aggregateOf.get(e.eventId);
    if (aggregate !== undefined) handledAt.set(aggregate, at);
  });
  if (PROFILE_DIR) await mkdir(PROFILE_DIR, { recursive: true });
  const consumeProfiler = PROFILE_DIR ? await startCpuProfile() : undefined;
  t = performance.now();
  await consumer.start();
  const limit = setTimeout(() => drained(), 600_000);
  await allProcessed;
  await consumeProfiler?.stop(join(PROFILE_DIR!, 'consume.cpuprofile'));
  clearTimeout(limit);
  if (processed < EVENTS) throw new Error(`only ${processed} of ${EVENTS} processed in 600 s`);
  const consumeEps = EVENTS / ((performance.now() - t) / 1000);
  const meanTxMs = txMs / transactions;
  const meanBatch = committedEvents / transactions;

  // e2e: the producer process commits at a steady rate; its relay publishes; we handle.
  measuring = true;
  processed = 0;
  transactions = 0;
  committedEvents = 0;
  const e2e = await measureE2e(
    async () => {
      await consumer.stop();
      return committedEvents / Math.max(1, transactions);
    },
    process.env.BENCH_LATENCY_DUMP,
    PROFILE_DIR && join(PROFILE_DIR, 'e2e.cpuprofile'),
  );

  // e2e ceiling: the same steady stream handled by the least a consumer can do: the same
  // statements (begin, inbox insert, one insert per event, commit) on plain pg connections, up to
  // CONCURRENCY transactions each taking what has arrived (up to batchSize) when it starts, and
  // no decoding, validation, per-key order, ORM, lingering, retries or timeouts.
  const rawDurable = 'raw-e2e';
  await jsm.consumers.add(stream, {
    durable_name: rawDurable,
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: 4000,
    deliver_policy: DeliverPolicy.New,
  });
  const rawE2e = await measureE2e(
    await startRawConsumer(rawDurable),
    undefined,
    PROFILE_DIR && join(PROFILE_DIR, 'e2e-raw.cpuprofile'),
  );

  /**
   * One e2e phase: the producer process commits RATE events/s for the warm-up and the measured
   * seconds; its relay publishes them; the running consumer handles them and sets `handledAt`.
   * `stopConsumer` stops it and tells its mean events per transaction.
   */
  async function measureE2e(
    stopConsumer: () => Promise<number>,
    dumpPath?: string,
    profilePath?: string,
  ) {
    handledAt.clear();
    committedAt.clear();
    // Each phase starts from an outbox as vacuumed (this machine's server runs autovacuum off).
    await pool.query('vacuum analyze jetbox_outbox');
    // The relay's share ends when JetStream stored the message (read after the phase).
    const firstSeq = (await jsm.streams.info(stream)).state.last_seq + 1;
    const total = RATE * (WARMUP_SECONDS + LATENCY_SECONDS);
    let behindMs = NaN;
    // CPU per event of each party: what a steady 1,000/s costs the 2-core machine.
    const cpu = {
      producer: new CpuMeter(),
      consumer: new CpuMeter(),
      nats: new CpuMeter(),
      postgres: new CpuMeter(),
    };
    const cpuPids = async () => ({
      producer: [producer!.pid!],
      consumer: [process.pid],
      nats: natsPid ? [natsPid] : [],
      postgres: await backendPids(pool),
    });
    // The consumer process's GC pauses: each one holds up every event in flight.
    const gcPauses: number[] = [];
    const gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcPauses.push(entry.duration);
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    const gcFrom = performance.now();
    const eluBefore = performance.eventLoopUtilization();
    const pidsBefore = await cpuPids();
    for (const k of Object.keys(cpu) as (keyof typeof cpu)[]) cpu[k].start(pidsBefore[k]);
    const profiler = profilePath ? await startCpuProfile() : undefined;
    let onReport: (report: ProducerReport) => void = () => undefined;
    let onExit: (code: number | null) => void = () => undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        onExit = (code) => reject(new Error(`the producer process exited (${code})`));
        onReport = (report) => {
          if ('commits' in report) for (const [id, at] of report.commits) committedAt.set(id, at);
          if ('done' in report) {
            behindMs = report.behindMs;
            resolve();
          }
        };
        producer!.once('exit', onExit);
        listeners.add(onReport);
        producer!.send({ go: true });
      });
    } finally {
      producer!.off('exit', onExit);
      listeners.delete(onReport);
    }
    await waitUntil('e2e samples', () => handledAt.size >= total, 30_000).catch(() => undefined);
    await profiler?.stop(profilePath!);
    const pidsAfter = await cpuPids();
    const elu = performance.eventLoopUtilization(eluBefore).utilization;
    gcObserver.disconnect();
    const gcWindowMs = performance.now() - gcFrom;
    const gcMs = gcPauses.reduce((sum, d) => sum + d, 0);
    const cpuUs = Object.fromEntries(
      (Object.keys(cpu) as (keyof typeof cpu)[]).map((k) => [
        k,
        Math.round((cpu[k].stop(pidsAfter[k]) * 1000) / total),
      ]),
    ) as Record<keyof typeof cpu, number>;
    const meanBatch = await stopConsumer();
    const storedAt = await storedTimes(nc, stream, firstSeq);
    const measuredFrom = Math.min(...committedAt.values()) + WARMUP_SECONDS * 1000;
    const measured = [...committedAt].filter(([, at]) => at >= measuredFrom);
    const between = (from: (aggregate: string, at: number) => number, to: Map<string, number>) =>
      measured
        .map(([aggregate, at]) => (to.get(aggregate) ?? NaN) - from(aggregate, at))
        .filter((x) => Number.isFinite(x))
        .sort((a, b) => a - b);
    const stored = (aggregate: string) => storedAt.get(aggregate) ?? NaN;
    // e.g. BENCH_LATENCY_DUMP=/tmp/e2e.json: each event's commit time, e2e and consumer latency
    if (dumpPath) {
      const dump = measured.map(([aggregate, at]) => [
        at,
        (handledAt.get(aggregate) ?? NaN) - at,
        (handledAt.get(aggregate) ?? NaN) - stored(aggregate),
      ]);
      await writeFile(dumpPath, JSON.stringify(dump));
    }
    return {
      latencies: between((_, at) => at, handledAt),
      relayShare: between((_, at) => at, storedAt),
      consumerShare: between(stored, handledAt),
      samples: measured.length,
      cpuUs,
      gcPauses: gcPauses.length,
      gcShare: gcMs / gcWindowMs,
      gcLongest: Math.max(0, ...gcPauses),
      elu,
      behindMs,
      meanBatch,
    };
  }

  /**
   * Starts the e2e ceiling's consumer on `durable`; the returned function stops it (after its
   * transactions end) and tells its mean events per transaction.
   */
  async function startRawConsumer(durable: string): Promise<() => Promise<number>> {
    const waiting: JsMsg[] = [];
    let busy = 0;
    let queued = false;
    let transactions = 0;
    let events = 0;
    let failure: Error | undefined;
    const handle = async (batch: JsMsg[]) => {
      const decoded = batch.map((m) => ({
        m,
        id: m.headers?.get('ce-id') ?? '',
        matchId: m.json<{ matchId: string }>().matchId,
      }));
      const client = await pool.connect();
      try {
        await client.query('begin');
        const inserted = await client.query<{ event_id: string }>(
          `insert into jetbox_inbox (consumer, event_id) values ${decoded.map((_, i) => `($1, $${i + 2})`).join(', ')} on conflict do nothing returning event_id`,
          ['raw', ...decoded.map((d) => d.id)],
        );
        const fresh = new Set(inserted.rows.map((row) => row.event_id));
        for (const d of decoded) {
          if (fresh.has(d.id)) {
            await client.query('insert into bench_effect values ($1, $2)', [d.id, d.matchId]);
          }
        }
        await client.query('commit');
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
      transactions++;
      events += batch.length;
      for (const d of decoded) {
        d.m.ack();
        handledAt.set(d.matchId, now());
      }
    };
    const schedule = () => {
      if (queued) return;
      queued = true;
      queueMicrotask(() => {
        queued = false;
        while (busy < CONCURRENCY && waiting.length > 0) {
          busy++;
          void handle(waiting.splice(0, BATCH_SIZE))
            .catch(
              (err: unknown) => (failure ??= err instanceof Error ? err : new Error(String(err))),
            )
            .finally(() => {
              busy--;
              schedule();
            });
        }
      });
    };
    const consumer = await js.consumers.get(stream, durable);
    const messages = await consumer.consume({
      max_messages: 256,
      callback: (m) => {
        waiting.push(m);
        schedule();
      },
    });
    return async () => {
      messages.stop();
      await waitUntil('the raw consumer finishing', () => busy === 0, 30_000);
      if (failure) throw failure;
      return events / Math.max(1, transactions);
    };
  }

  const ceiling = Math.min(rawConsumeEps, rawInsertEps);
  const ms = (x: number) => Number(x.toFixed(2));
  const result = {
    bench: 'consumer',
    consume_eps: Math.round(consumeEps),
    ceiling_eps: Math.round(ceiling),
    ratio: Number((consumeEps / ceiling).toFixed(3)),
    e2e_p50_ms: ms(percentile(e2e.latencies, 50)),
    e2e_p99_ms: ms(percentile(e2e.latencies, 99)),
    e2e_ceiling_p50_ms: ms(percentile(rawE2e.latencies, 50)),
    e2e_ceiling_p99_ms: ms(percentile(rawE2e.latencies, 99)),
    e2e_producer: E2E_PRODUCER,
  };
  const p50p99 = (sorted: number[]) =>
    `${percentile(sorted, 50).toFixed(2)} / ${percentile(sorted, 99).toFixed(2)} ms`;
  const e2eRows = (run: typeof e2e, label: string): [string, string][] => [
    [
      `${label} p50 / p99 / max`,
      `${p50p99(run.latencies)} / ${(run.latencies.at(-1) ?? NaN).toFixed(2)} ms`,
    ],
    ['  of which commit → stored in the stream (relay) p50 / p99', p50p99(run.relayShare)],
    ['  of which stored → handler commit (consumer) p50 / p99', p50p99(run.consumerShare)],
    ['  mean events per transaction', run.meanBatch.toFixed(1)],
    ['  samples (after the warm-up)', `${run.latencies.length}/${run.samples}`],
    [
      '  CPU µs per event: producer process (producers + relay), consumer, nats-server, PostgreSQL',
      `${run.cpuUs.producer} / ${run.cpuUs.consumer} / ${run.cpuUs.nats} / ${run.cpuUs.postgres}`,
    ],
    ['  consumer process event loop busy (utilization)', `${(run.elu * 100).toFixed(0)}%`],
    [
      '  consumer process GC: pauses, share of the time, longest',
      `${run.gcPauses} / ${(run.gcShare * 100).toFixed(1)}% / ${run.gcLongest.toFixed(1)} ms`,
    ],
    ['  producers behind schedule at the end', `${Math.round(run.behindMs)} ms`],
  ];
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
    ...e2eRows(
      e2e,
      `e2e at ${RATE}/s, ${E2E_PRODUCER} producer (outbox commit → handler commit, via relay)`,
    ),
    ...e2eRows(rawE2e, 'e2e ceiling: the same with a raw consumer (plain pg, same statements)'),
    ["e2e p99 over the ceiling's", (result.e2e_p99_ms / result.e2e_ceiling_p99_ms).toFixed(2)],
  );
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  console.log(JSON.stringify(result));
} finally {
  if (producer?.connected) {
    const exited = new Promise((resolve) => producer!.once('exit', resolve));
    producer.send({ stop: true });
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);
  }
  producer?.kill('SIGKILL');
  await pool.end();
  await deleteStreams(nc, stream, dlq);
  await nc.close();
  await orm.close(true);
  await db.drop();
}

/** Profiles this process's CPU until `stop(path)`, which writes the profile there. */
async function startCpuProfile() {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(path: string) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      await writeFile(path, JSON.stringify(profile));
    },
  };
}
