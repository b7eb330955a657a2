/**
 * `npm run bench:relay`: the relay against the machine's ceilings, measured in one run.
 *   drain    100,000 pending rows drained by one `jetbox relay` process (events/s, its peak RSS)
 *   ceilings raw pipelined JetStream publish of the same messages; raw PostgreSQL claim+mark of the same rows
 *   latency  events committed at a steady 1,000/s for 20 s (after 5 s at the same rate to warm up)
 *            through MikroORM flushes, published by a `jetbox relay` process: commit → PubAck
 *            (message stored and delivered)
 *   ceiling  the same latency phase again, published by the least a relay can do
 *            (`rawRelay.ts`: LISTEN, read the oldest pending rows, publish, mark; nothing else)
 * Prints a table, then one JSON line.
 */
import {
  BENCH_PAIRING_DDL,
  insertOutboxRows,
  matchCreatedData,
  RAW_MARK_PUBLISHED,
} from './benchProducers.js';
import { storedTimes } from './storedTimes.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { Worker } from 'node:worker_threads';
import { writeFile } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import type { ProducersInput, ProducersOutput } from './relayProducers.js';
import { backendPids, cpuMsOf, CpuMeter, listenerPid, peakRssOf } from './processCpu.js';
import { createPubAckPublisher } from '../src/relay/createPubAckPublisher.js';
import { encodeOutboxRow } from '../src/relay/encodeOutboxRow.js';
import type { ClaimedRow } from '../src/relay/outboxSql.js';
import { jetboxOrmOptions, migrate } from '../src/orm/jetboxOrmOptions.js';
import {
  connectTestNats,
  createTestDatabase,
  testNatsUrl,
  deleteStreams,
  uniqueName,
  uniqueStreamName,
} from '../src/testing/index.js';

const DRAIN_EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const RATE = 1000;
// Concurrent MikroORM units of work in the latency phase: enough that one slow commit does not
// hold back the steady rate.
const PRODUCERS = Number(process.env.BENCH_PRODUCERS ?? 32);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
// The same rate runs this long before the measured seconds: until the JIT has compiled the
// producers' MikroORM paths they fall behind and then catch up in bursts, which is not a steady rate.
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const PARTITIONS = 16;
// e.g. BENCH_RELAY_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the relay process
const RELAY_NODE_ARGS = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
const cliPath = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const rawRelayPath = fileURLToPath(new URL('./rawRelay.ts', import.meta.url));

/** CPU µs per event of each party to a phase: node process(es), nats-server, PostgreSQL backends. */
interface PhaseCpu {
  node: number;
  nats: number;
  postgres: number;
}

/**
 * Stops a relay process: fails if it already exited on its own (its phase's figures would be
 * missing rows, not slow), else SIGTERM and, after 15 s, SIGKILL.
 */
async function stopRelay(child: ChildProcess, name: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new Error(`${name} exited during the phase (${child.exitCode ?? child.signalCode})`);
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function main() {
  const db = await createTestDatabase('jetbox_bench');
  const nc = await connectTestNats();
  const jsm = await jetstreamManager(nc);
  const prefix = uniqueName('bench').replace(/_/g, '');
  const stream = uniqueStreamName('JETBOX_BENCH');
  const ceilingStream = `${stream}_CEILING`;
  const base = jetboxOrmOptions();
  const orm = await MikroORM.init(
    defineConfig({
      ...base,
      clientUrl: db.url,
      pool: { min: 1, max: 2 },
    }),
  );
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const relays: ChildProcess[] = [];
  const natsPid = listenerPid(Number(new URL(testNatsUrl()).port || 4222));
  /** Starts metering a phase; the returned function stops it and gives µs per event. */
  const meter = async (nodePids: () => number[]) => {
    const node = new CpuMeter();
    const nats = new CpuMeter();
    const postgres = new CpuMeter();
    node.start(nodePids());
    nats.start(natsPid ? [natsPid] : []);
    postgres.start(await backendPids(pool));
    return async (events: number): Promise<PhaseCpu> => {
      const us = (ms: number) => Math.round((ms * 1000) / events);
      return {
        node: us(node.stop(nodePids())),
        nats: us(nats.stop(natsPid ? [natsPid] : [])),
        postgres: us(postgres.stop(await backendPids(pool))),
      };
    };
  };
  try {
    await migrate(orm);
    await pool.query(BENCH_PAIRING_DDL);
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], duplicate_window: 120e9 });
    await jsm.streams.add({
      name: ceilingStream,
      subjects: [`${prefix}c.>`],
      duplicate_window: 120e9,
    });

    // Rows exactly as the outbox writes them, one aggregate per event (the common case).
    for (let start = 0; start < DRAIN_EVENTS; start += 10_000) {
      const rows = Array.from({ length: Math.min(10_000, DRAIN_EVENTS - start) }, () => {
        const aggregateId = uuidv7();
        return { id: uuidv7(), aggregateId, data: matchCreatedData(aggregateId) };
      });
      await insertOutboxRows(pool, { subjectPrefix: prefix, partitions: PARTITIONS }, rows);
    }
    await pool.query('vacuum analyze jetbox_outbox');

    // 1. drain, by `jetbox relay` as its own process so its peak RSS is the relay's alone
    const spawnRelay = () => {
      const relay = spawn(process.execPath, [...RELAY_NODE_ARGS, cliPath, 'relay'], {
        env: {
          ...process.env,
          DATABASE_URL: db.url,
          NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
          JETBOX_STREAM: stream,
          JETBOX_PARTITIONS: String(PARTITIONS),
          NODE_ENV: 'production',
          JETBOX_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      relays.push(relay);
      return relay;
    };
    const child = spawnRelay();
    // Polled cheaply (an index probe every 100 ms) so the bench takes no CPU from the relay; the
    // rate comes from the rows' own published_at, from the first batch's mark to the last one's.
    const anyPending = async () =>
      (await pool.query(`select 1 from jetbox_outbox where status = 'pending' limit 1`))
        .rowCount !== 0;
    let drainPeakRss = 0;
    let stopDrainMeter: ((events: number) => Promise<PhaseCpu>) | null = null;
    for (const deadline = Date.now() + 600_000; Date.now() < deadline;) {
      const pending = await anyPending();
      drainPeakRss = Math.max(drainPeakRss, peakRssOf(child.pid!));
      if (stopDrainMeter === null) {
        const marked = await pool.query(
          `select 1 from jetbox_outbox where status = 'published' limit 1`,
        );
        if (marked.rowCount) stopDrainMeter = await meter(() => [child.pid!]);
      }
      if (!pending) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    drainPeakRss = Math.max(drainPeakRss, peakRssOf(child.pid!));
    const spanRows = await pool.query<{ n: string }>(
      `select count(*) as n from jetbox_outbox where published_at > (select min(published_at) from jetbox_outbox)`,
    );
    const drainCpu = await stopDrainMeter!(Number(spanRows.rows[0]!.n));
    await stopRelay(child, 'the drain relay');
    const span = (
      await pool.query<{ ms: number; first: string; total: string }>(
        `select (extract(epoch from max(published_at) - min(published_at)) * 1000)::float8 as ms,
                count(*) filter (where published_at = (select min(published_at) from jetbox_outbox)) as first,
                count(*) as total
         from jetbox_outbox where status = 'published'`,
      )
    ).rows[0]!;
    const drainedAfterFirst = Number(span.total) - Number(span.first);
    const drainMs = span.ms;

    // 2. ceiling: raw pipelined JetStream publish of the same messages, encoded and sent exactly
    // as the relay does (same encoder, same PubAck pipeline), at most 1,000 in flight like its batch.
    const { rows } = await pool.query<ClaimedRow>(
      `select id, aggregate_id, type, source, dataschema, nats_subject, headers, data::text as data, created_at
       from jetbox_outbox order by seq`,
    );
    const publisher = createPubAckPublisher(nc, 10_000);
    const stopJsMeter = await meter(() => [process.pid]);
    const t1 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const WINDOW = 1000;
      let sent = 0;
      let acked = 0;
      const sendNext = () => {
        const r = rows[sent++]!;
        const { headers, data } = encodeOutboxRow(r);
        publisher.publish(
          r.nats_subject.replace(prefix, `${prefix}c`),
          data,
          headers,
          r.id,
          (err) => {
            if (err) return reject(err);
            if (++acked === rows.length) resolve();
            else if (sent < rows.length) sendNext();
          },
        );
      };
      while (sent < Math.min(WINDOW, rows.length)) sendNext();
    });
    const jsMs = performance.now() - t1;
    const jsCpu = await stopJsMeter(rows.length);
    publisher.close();

    // 3. ceiling: raw PostgreSQL claim + mark of the same rows (reset to pending first)
    await pool.query(
      `update jetbox_outbox set status = 'pending', published_at = null, stream_seq = null`,
    );
    await pool.query('vacuum analyze jetbox_outbox');
    const c = await pool.connect();
    const stopPgMeter = await meter(() => [process.pid]);
    const t2 = performance.now();
    for (;;) {
      const claimed = await c.query<{ id: string }>(
        `select id, aggregate_id, nats_subject, headers, data::text, created_at from jetbox_outbox where status = 'pending' order by seq limit 1000`,
      );
      if (claimed.rows.length === 0) break;
      await c.query(RAW_MARK_PUBLISHED, [
        claimed.rows.map((r) => r.id),
        claimed.rows.map((_, i) => i),
      ]);
    }
    const pgMs = performance.now() - t2;
    const pgCpu = await stopPgMeter(rows.length);
    c.release();

    // 4. latency at a steady rate through MikroORM flushes, with a standalone relay process.
    // PubAck time is the time JetStream stored the message (its timestamp), read afterwards.
    // Commit time as the database sees it: a deferred trigger runs at COMMIT, just before the
    // commit record is written, so the figure includes the commit itself (its WAL flush too).
    await pool.query(
      `create table bench_commit_time (aggregate_id text primary key, at timestamptz not null)`,
    );
    await pool.query(`create function bench_commit_time() returns trigger language plpgsql as $$
      begin insert into bench_commit_time values (new.aggregate_id, clock_timestamp()); return null; end $$`);
    await pool.query(`create constraint trigger bench_commit_time after insert on jetbox_outbox
      deferrable initially deferred for each row execute function bench_commit_time()`);
    const total = RATE * (WARMUP_SECONDS + LATENCY_SECONDS);
    const measured = RATE * LATENCY_SECONDS;

    /** One latency phase: the producers at RATE, published by the relay `startRelay` spawns. */
    const measureLatency = async (
      startRelay: () => ChildProcess,
      relaySessions: string,
      dumpPath?: string,
    ) => {
      // Start from an empty outbox, as vacuumed as production's autovacuum keeps it (this
      // machine's server runs with autovacuum off): 100,000 dead claim-index entries would cost
      // every claim ≈ 0.3 ms.
      await pool.query(`truncate jetbox_outbox, bench_commit_time`);
      await pool.query('vacuum analyze jetbox_outbox');
      const firstSeq = (await jsm.streams.info(stream)).state.last_seq + 1;
      const relay = startRelay();
      await new Promise((r) => setTimeout(r, 1500)); // started, partitions taken, idle
      const producersInput: ProducersInput = {
        databaseUrl: db.url,
        subjectPrefix: prefix,
        partitions: PARTITIONS,
        rate: RATE,
        total,
        producers: PRODUCERS,
      };
      // Workers do not inherit tsx's loader: register it in the worker, then load the producers.
      const producersUrl = new URL('./relayProducers.ts', import.meta.url).href;
      const worker = new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(producersUrl)}); })`,
        { eval: true, workerData: producersInput },
      );
      const produced = new Promise<ProducersOutput>((resolve, reject) => {
        worker.on('message', (m: ProducersOutput | 'ready') => m !== 'ready' && resolve(m));
        worker.once('error', reject);
      });
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
      // Metered and measured after the warm-up: the worker's start-up and JIT are not part of it.
      await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
      const measuredFrom = performance.timeOrigin + performance.now();
      const stopMeter = await meter(() => [process.pid]);
      const relayCpuBefore = cpuMsOf(relay.pid!);
      const relayBackends = new CpuMeter();
      relayBackends.start(await backendPids(pool, relaySessions));
      const { behindMs } = await produced;
      const cpu = await stopMeter(measured);
      const relayBackendsUs = Math.round(
        (relayBackends.stop(await backendPids(pool, relaySessions)) * 1000) / measured,
      );
      const relayCpuUs = Math.round(((cpuMsOf(relay.pid!) - relayCpuBefore) * 1000) / measured);
      const exited = new Promise((r) => worker.once('exit', r));
      worker.postMessage('close');
      await exited;
      for (
        const deadline = Date.now() + 10_000;
        (await jsm.streams.info(stream)).state.last_seq - firstSeq + 1 < total &&
        Date.now() < deadline;
      ) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const ackedAt = await storedTimes(nc, stream, firstSeq);
      const unpublished = Number(
        (
          await pool.query<{ n: string }>(
            `select count(*) as n from jetbox_outbox where status <> 'published'`,
          )
        ).rows[0]!.n,
      );
      await stopRelay(relay, `the ${relaySessions} process`);
      const { rows: commits } = await pool.query<{ aggregate_id: string; ms: number }>(
        `select aggregate_id, (extract(epoch from at) * 1000)::float8 as ms from bench_commit_time
         where at >= to_timestamp($1 / 1000.0)`,
        [measuredFrom],
      );
      const latencies = commits
        .map((c) => (ackedAt.get(c.aggregate_id) ?? NaN) - c.ms)
        .filter((x) => Number.isFinite(x))
        .sort((a, b) => a - b);
      // e.g. BENCH_LATENCY_DUMP=/tmp/latency.json: each event's commit time and latency, to look at the tail
      if (dumpPath) {
        const dump = commits.map((c) => [
          c.ms,
          (ackedAt.get(c.aggregate_id) ?? NaN) - c.ms,
          c.aggregate_id,
        ]);
        await writeFile(dumpPath, JSON.stringify(dump));
      }
      return {
        latencies,
        lost: commits.length - latencies.length,
        unpublished,
        behindMs,
        cpu: {
          producers: cpu.node,
          relay: relayCpuUs,
          nats: cpu.nats,
          postgres: cpu.postgres,
          postgres_relay_sessions: relayBackendsUs,
        },
      };
    };
    const latency = await measureLatency(
      spawnRelay,
      'jetbox-relay',
      process.env.BENCH_LATENCY_DUMP,
    );
    // 5. latency ceiling: the same phase published by the least a relay can do (rawRelay.ts). Not
    // a strict bound: it overlaps nothing (one claim, publish and mark at a time).
    const rawLatency = await measureLatency(() => {
      const raw = spawn(process.execPath, [...RELAY_NODE_ARGS, '--import', 'tsx', rawRelayPath], {
        env: {
          ...process.env,
          DATABASE_URL: db.url,
          NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
          NODE_ENV: 'production',
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      relays.push(raw);
      return raw;
    }, 'jetbox-bench-raw-relay');
    const { latencies } = latency;
    const behind = latency.behindMs;

    const drainEps = drainedAfterFirst / (drainMs / 1000);
    const jsEps = rows.length / (jsMs / 1000);
    const pgEps = rows.length / (pgMs / 1000);
    const ceiling = Math.min(jsEps, pgEps);
    const result = {
      bench: 'relay',
      drain_eps: Math.round(drainEps),
      ceiling_eps: Math.round(ceiling),
      ratio: Number((drainEps / ceiling).toFixed(3)),
      jetstream_ceiling_eps: Math.round(jsEps),
      postgres_ceiling_eps: Math.round(pgEps),
      commit_to_ack_p50_ms: Number(percentile(latencies, 50).toFixed(2)),
      commit_to_ack_p99_ms: Number(percentile(latencies, 99).toFixed(2)),
      commit_to_ack_max_ms: Number((latencies.at(-1) ?? NaN).toFixed(2)),
      latency_samples: latencies.length,
      latency_warmup_s: WARMUP_SECONDS,
      latency_lost: latency.lost,
      latency_unpublished_rows: latency.unpublished,
      producers_behind_ms: Math.round(behind),
      achieved_rate_eps: Math.round((total / ((total * 1000) / RATE + behind)) * 1000),
      peak_rss_mb: Math.round(drainPeakRss / 2 ** 20),
      // CPU µs per event, immune to the machine's other load: node process, nats-server, PostgreSQL
      cpu_us_drain: drainCpu,
      cpu_us_jetstream_ceiling: jsCpu,
      cpu_us_postgres_ceiling: pgCpu,
      cpu_us_latency: latency.cpu,
      // the same phase published by the least a relay can do (bench/rawRelay.ts)
      commit_to_ack_ceiling_p50_ms: Number(percentile(rawLatency.latencies, 50).toFixed(2)),
      commit_to_ack_ceiling_p99_ms: Number(percentile(rawLatency.latencies, 99).toFixed(2)),
      commit_to_ack_ceiling_max_ms: Number((rawLatency.latencies.at(-1) ?? NaN).toFixed(2)),
      latency_ceiling_samples: rawLatency.latencies.length,
      latency_ceiling_lost: rawLatency.lost,
      latency_ceiling_unpublished_rows: rawLatency.unpublished,
      latency_ceiling_producers_behind_ms: Math.round(rawLatency.behindMs),
      cpu_us_latency_ceiling: rawLatency.cpu,
    };
    console.table({
      'relay drain': { events: DRAIN_EVENTS, 'events/s': result.drain_eps },
      'ceiling: JetStream publish': {
        events: rows.length,
        'events/s': result.jetstream_ceiling_eps,
      },
      'ceiling: PostgreSQL claim+mark': {
        events: rows.length,
        'events/s': result.postgres_ceiling_eps,
      },
    });
    console.table({
      'commit → PubAck (ms)': {
        p50: result.commit_to_ack_p50_ms,
        p99: result.commit_to_ack_p99_ms,
        max: result.commit_to_ack_max_ms,
        samples: latencies.length,
      },
      'ceiling: the same, raw relay (ms)': {
        p50: result.commit_to_ack_ceiling_p50_ms,
        p99: result.commit_to_ack_ceiling_p99_ms,
        max: result.commit_to_ack_ceiling_max_ms,
        samples: rawLatency.latencies.length,
      },
    });
    console.log(
      `ratio ${result.ratio} (target ≥ 0.7), p99 ${result.commit_to_ack_p99_ms} ms (target ≤ 5; raw relay ${result.commit_to_ack_ceiling_p99_ms}), peak RSS ${result.peak_rss_mb} MB (target ≤ 200)`,
    );
    console.log(JSON.stringify(result));
  } finally {
    for (const relay of relays) if (relay.exitCode === null) relay.kill('SIGKILL');
    await pool.end();
    await orm.close(true);
    await deleteStreams(nc, stream, ceilingStream);
    await nc.close();
    await db.drop();
  }
}

await main();
