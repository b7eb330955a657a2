/**
 * `npm run bench:relay`: the relay against the machine's ceilings, measured in one run.
 *   drain    100,000 pending rows drained by one `jetbox relay` process (events/s, its peak RSS)
 *   ceilings raw pipelined JetStream publish of the same messages; raw PostgreSQL claim+mark of the same rows
 *   latency  events committed at a steady 1,000/s for 20 s through MikroORM flushes, published by a
 *            `jetbox relay` process: commit → PubAck (message stored and delivered)
 * Prints a table, then one JSON line.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { EntitySchema, MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { encodeCloudEvent } from '../src/cloudevents/encodeCloudEvent.js';
import { AggregateRoot } from '../src/outbox/AggregateRoot.js';
import { createOutbox } from '../src/outbox/createOutbox.js';
import { jetboxOrmOptions, migrate } from '../src/orm/jetboxOrmOptions.js';
import { partitionOf } from '../src/jetstream/subjects.js';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  uniqueName,
  uniqueStreamName,
} from '../src/testing/index.js';

const DRAIN_EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const RATE = 1000;
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
const PARTITIONS = 16;
const cliPath = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/** Peak resident set (VmHWM) of a process, in bytes. */
function peakRssOf(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

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

async function main() {
  const db = await createTestDatabase('jetbox_bench');
  const nc = await connectTestNats();
  const jsm = await jetstreamManager(nc);
  const prefix = uniqueName('bench').replace(/_/g, '');
  const stream = uniqueStreamName('JETBOX_BENCH');
  const ceilingStream = `${stream}_CEILING`;
  const outbox = createOutbox({ source: '/bench', partitions: PARTITIONS, subjectPrefix: prefix });
  const base = jetboxOrmOptions();
  const orm = await MikroORM.init(
    defineConfig({
      ...base,
      clientUrl: db.url,
      entities: [...base.entities, PairingSchema],
      subscribers: [outbox.subscriber],
      pool: { min: 1, max: 20 },
    }),
  );
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  try {
    await migrate(orm);
    await pool.query('create table bench_pairing (id uuid primary key)');
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], duplicate_window: 120e9 });
    await jsm.streams.add({
      name: ceilingStream,
      subjects: [`${prefix}c.>`],
      duplicate_window: 120e9,
    });

    // Rows exactly as the outbox writes them, one aggregate per event (the common case).
    const insert = async (n: number) => {
      for (let start = 0; start < n; start += 10_000) {
        const ids: string[] = [],
          aggs: string[] = [],
          parts: number[] = [],
          data: string[] = [];
        for (let i = start; i < Math.min(n, start + 10_000); i++) {
          const a = uuidv7();
          ids.push(uuidv7());
          aggs.push(a);
          parts.push(partitionOf(a, PARTITIONS));
          data.push(
            JSON.stringify({ matchId: a, userIds: [uuidv7(), uuidv7()], region: 'eu-west' }),
          );
        }
        await pool.query(
          `insert into jetbox_outbox (id, aggregate_type, aggregate_id, partition, type, source, dataschema, nats_subject, data)
           select v.id, 'match', v.agg, v.p, 'com.jetbox.match.created', '/bench', 'urn:jetbox:schema:com.jetbox.match.created:v1',
                  $5 || '.match.created.' || v.p, v.data::jsonb
           from unnest($1::uuid[], $2::text[], $3::int[], $4::text[]) with ordinality v(id, agg, p, data, n) order by v.n`,
          [ids, aggs, parts, data, prefix],
        );
      }
      await pool.query('vacuum analyze jetbox_outbox');
    };
    await insert(DRAIN_EVENTS);

    // 1. drain, by `jetbox relay` as its own process so its peak RSS is the relay's alone
    const spawnRelay = () =>
      spawn(process.execPath, [cliPath, 'relay', '--poll-interval', '100'], {
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
    const child = spawnRelay();
    const unpublished = async () =>
      Number(
        (
          await pool.query<{ n: string }>(
            `select count(*) as n from jetbox_outbox where status <> 'published'`,
          )
        ).rows[0]!.n,
      );
    let t0 = 0;
    let drainPeakRss = 0;
    for (const deadline = Date.now() + 600_000; Date.now() < deadline;) {
      const left = await unpublished();
      if (t0 === 0 && left < DRAIN_EVENTS) t0 = performance.now(); // the relay's first batch is marked
      drainPeakRss = Math.max(drainPeakRss, peakRssOf(child.pid!));
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const drainMs = performance.now() - t0;
    drainPeakRss = Math.max(drainPeakRss, peakRssOf(child.pid!));
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));

    // 2. ceiling: raw pipelined JetStream publish of the same messages
    const { rows } = await pool.query<{
      id: string;
      aggregate_id: string;
      nats_subject: string;
      data: string;
      created_at: Date;
    }>(
      `select id, aggregate_id, nats_subject, data::text as data, created_at from jetbox_outbox order by seq`,
    );
    const js = jetstream(nc);
    const t1 = performance.now();
    const WINDOW = 2000;
    for (let i = 0; i < rows.length; i += WINDOW) {
      await Promise.all(
        rows.slice(i, i + WINDOW).map((r) => {
          const { headers, data } = encodeCloudEvent({
            specversion: '1.0',
            id: r.id,
            source: '/bench',
            type: 'com.jetbox.match.created',
            subject: r.aggregate_id,
            time: r.created_at.toISOString(),
            dataschema: 'urn:jetbox:schema:com.jetbox.match.created:v1',
            datacontenttype: 'application/json',
            partitionkey: r.aggregate_id,
            data: Buffer.from(r.data),
          });
          return js.publish(r.nats_subject.replace(prefix, `${prefix}c`), data, {
            msgID: r.id,
            headers,
          });
        }),
      );
    }
    const jsMs = performance.now() - t1;

    // 3. ceiling: raw PostgreSQL claim + mark of the same rows (reset to pending first)
    await pool.query(
      `update jetbox_outbox set status = 'pending', published_at = null, stream_seq = null`,
    );
    await pool.query('vacuum analyze jetbox_outbox');
    const c = await pool.connect();
    const t2 = performance.now();
    for (;;) {
      const claimed = await c.query<{ id: string }>(
        `select id, aggregate_id, nats_subject, headers, data::text, created_at from jetbox_outbox where status = 'pending' order by seq limit 1000`,
      );
      if (claimed.rows.length === 0) break;
      await c.query(
        `update jetbox_outbox o set status = 'published', published_at = now(), stream_seq = v.s from unnest($1::uuid[], $2::bigint[]) v(id, s) where o.id = v.id`,
        [claimed.rows.map((r) => r.id), claimed.rows.map((_, i) => i)],
      );
    }
    const pgMs = performance.now() - t2;
    c.release();

    // 4. latency at a steady rate through MikroORM flushes, with a standalone relay process.
    // PubAck time is taken as the arrival of the message on a core subscription to the stream's
    // subjects (JetStream delivers it once stored, within a fraction of a millisecond of the ack).
    await pool.query(`delete from jetbox_outbox`);
    const committedAt = new Map<string, number>();
    const ackedAt = new Map<string, number>();
    const sub = nc.subscribe(`${prefix}.>`, {
      callback: (_err, msg) => {
        const key = msg.headers?.get('ce-partitionkey');
        if (key) ackedAt.set(key, performance.now());
      },
    });
    const latencyRelay = spawnRelay();
    await new Promise((r) => setTimeout(r, 1500)); // started, partitions taken, idle
    const total = RATE * LATENCY_SECONDS;
    const start = performance.now();
    const producers = 8;
    await Promise.all(
      Array.from({ length: producers }, async (_, w) => {
        for (let i = w; i < total; i += producers) {
          const due = start + (i * 1000) / RATE;
          const wait = due - performance.now();
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
          committedAt.set(p.id, performance.now());
        }
      }),
    );
    const behind = performance.now() - start - (total * 1000) / RATE;
    for (const deadline = Date.now() + 10_000; ackedAt.size < total && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 50));
    }
    sub.unsubscribe();
    latencyRelay.kill('SIGTERM');
    await new Promise((r) => latencyRelay.once('exit', r));
    const latencies = [...committedAt]
      .map(([agg, at]) => (ackedAt.get(agg) ?? NaN) - at)
      .filter((x) => Number.isFinite(x));
    const latencyLost = total - latencies.length;

    const drainEps = DRAIN_EVENTS / (drainMs / 1000);
    const jsEps = rows.length / (jsMs / 1000);
    const pgEps = rows.length / (pgMs / 1000);
    const ceiling = Math.min(jsEps, pgEps);
    latencies.sort((a, b) => a - b);
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
      latency_lost: latencyLost,
      producers_behind_ms: Math.round(behind),
      achieved_rate_eps: Math.round((total / ((total * 1000) / RATE + behind)) * 1000),
      peak_rss_mb: Math.round(drainPeakRss / 2 ** 20),
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
    });
    console.log(
      `ratio ${result.ratio} (target ≥ 0.7), p99 ${result.commit_to_ack_p99_ms} ms (target ≤ 5), peak RSS ${result.peak_rss_mb} MB (target ≤ 200)`,
    );
    console.log(JSON.stringify(result));
  } finally {
    await pool.end();
    await orm.close(true);
    await deleteStreams(nc, stream, ceilingStream);
    await nc.close();
    await db.drop();
  }
}

await main();
