/**
 * `npm run bench:retention`: how removing 1,000,000 old published outbox rows affects a relay
 * publishing a steady 500 events/s, for the two designs the outbox could use:
 *   delete      one table; bounded batches of `delete … limit 1000` (what the relay does), then
 *               the VACUUM that makes the space reusable
 *   partitions  the same table partitioned by day on created_at; old partitions detached
 *               concurrently and dropped
 * For each: commit → stream latency before, during and after, how long removal takes, and the
 * table's size. Prints a table, then one JSON line.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { jetboxOrmOptions, migrate } from '../src/orm/jetboxOrmOptions.js';
import { partitionOf } from '../src/jetstream/subjects.js';
import { createRelay } from '../src/relay/createRelay.js';
import { deletePublished } from '../src/relay/outboxSql.js';
import { backendPids, CpuMeter } from './processCpu.js';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  uniqueName,
  uniqueStreamName,
} from '../src/testing/index.js';

const OLD_ROWS = Number(process.env.BENCH_RETENTION_ROWS ?? 1_000_000);
const RATE = 500;
const PHASE_MS = 10_000;
const PARTITIONS = 16;
const RETENTION_MS = 7 * 24 * 3600_000;
const DELETE_BATCH = 1000;

type Variant = 'delete' | 'partitions';
type Phase = 'warmup' | 'before' | 'during' | 'after';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

// The jetbox_outbox columns and indexes, partitioned by day; the primary key must include the
// partition key, so it is (id, created_at).
const PARTITIONED_SCHEMA = [
  `create table jetbox_outbox (
    id uuid not null, seq bigint generated always as identity, aggregate_type text not null,
    aggregate_id text not null, partition int not null, type text not null, source text not null,
    dataschema text not null, nats_subject text not null, headers jsonb not null default '{}'::jsonb,
    data jsonb not null, status text not null default 'pending', attempts int not null default 0,
    next_attempt_at timestamptz not null default now(), last_error text,
    created_at timestamptz not null default now(), published_at timestamptz, stream_seq bigint,
    primary key (id, created_at)
  ) partition by range (created_at)`,
  `create index jetbox_outbox_claim on jetbox_outbox (seq) where status = 'pending'`,
  `create index jetbox_outbox_aggregate on jetbox_outbox (aggregate_type, aggregate_id, seq) where status <> 'published'`,
  `create index jetbox_outbox_waiting on jetbox_outbox (aggregate_type, aggregate_id) where status = 'failed' or (status = 'pending' and attempts > 0)`,
  `create or replace function jetbox_outbox_notify() returns trigger language plpgsql as $$
     begin perform pg_notify('jetbox_outbox', ''); return null; end $$`,
  `create trigger jetbox_outbox_notify after insert on jetbox_outbox for each statement execute function jetbox_outbox_notify()`,
];

async function createSchema(variant: Variant, url: string, pool: pg.Pool): Promise<void> {
  if (variant === 'delete') {
    const orm = await MikroORM.init(defineConfig({ ...jetboxOrmOptions(), clientUrl: url }));
    try {
      await migrate(orm);
    } finally {
      await orm.close(true);
    }
    return;
  }
  for (const sql of PARTITIONED_SCHEMA) await pool.query(sql);
  for (let day = -10; day <= 2; day++) {
    const name = `jetbox_outbox_d${day + 10}`;
    await pool.query(
      `create table ${name} partition of jetbox_outbox for values
       from (date_trunc('day', now()) + make_interval(days => $1::int))
       to (date_trunc('day', now()) + make_interval(days => $1::int + 1))`.replace(
        /\$1/g,
        String(day),
      ),
    );
  }
}

/** Published rows created 9 to 8 days ago, as the relay leaves them. */
async function fillOld(pool: pg.Pool, prefix: string): Promise<void> {
  const chunk = 100_000;
  for (let from = 1; from <= OLD_ROWS; from += chunk) {
    await pool.query(
      `insert into jetbox_outbox (id, aggregate_type, aggregate_id, partition, type, source, dataschema,
         nats_subject, data, status, attempts, next_attempt_at, created_at, published_at, stream_seq)
       select gen_random_uuid(), 'match', a, g % $4, 'com.jetbox.match.created', '/bench',
              'urn:jetbox:schema:com.jetbox.match.created:v1', $3 || '.match.created.' || (g % $4),
              jsonb_build_object('matchId', a, 'userIds', jsonb_build_array(gen_random_uuid(), gen_random_uuid()), 'region', 'eu-west'),
              'published', 1, ts, ts, ts + interval '5 ms', g
       from generate_series($1::int, $2::int) g,
            lateral (select gen_random_uuid()::text as a,
                            now() - interval '9 days' + g * interval '1 day' / $5::int as ts) x`,
      [from, Math.min(OLD_ROWS, from + chunk - 1), prefix, PARTITIONS, OLD_ROWS],
    );
  }
}

async function tableBytes(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ bytes: string }>(
    `select coalesce(sum(pg_total_relation_size(c.oid)), 0) as bytes from pg_class c
     where c.relkind = 'r' and (c.relname = 'jetbox_outbox' or c.relname like 'jetbox_outbox_d%')`,
  );
  return Number(rows[0]!.bytes);
}

async function runVariant(variant: Variant) {
  const db = await createTestDatabase(`jetbox_retention_${variant}`);
  const nc = await connectTestNats();
  const jsm = await jetstreamManager(nc);
  const prefix = uniqueName('ret').replace(/_/g, '');
  const stream = uniqueStreamName('JETBOX_RETENTION');
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const relay = createRelay({
    databaseUrl: db.url,
    nats: nc,
    stream,
    partitions: PARTITIONS,
    retentionMs: 0, // removal is driven below, the same way, so that it starts on cue
  });
  try {
    await createSchema(variant, db.url, pool);
    await fillOld(pool, prefix);
    await pool.query('vacuum analyze jetbox_outbox');
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], duplicate_window: 120e9 });
    const bytesBefore = await tableBytes(pool);

    let phase: Phase = 'warmup';
    const latencies: Record<Phase, number[]> = { warmup: [], before: [], during: [], after: [] };
    const committedAt = new Map<string, { at: number; phase: Phase }>();
    const sub = nc.subscribe(`${prefix}.>`, {
      callback: (_err, msg) => {
        const key = msg.headers?.get('ce-partitionkey');
        const c = key ? committedAt.get(key) : undefined;
        if (c) latencies[c.phase].push(performance.now() - c.at);
      },
    });
    await relay.start();

    let producing = true;
    const producer = (async () => {
      const start = performance.now();
      for (let i = 0; producing; i++) {
        const wait = start + (i * 1000) / RATE - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const a = uuidv7();
        const p = partitionOf(a, PARTITIONS);
        const current = phase;
        void pool
          .query(
            `insert into jetbox_outbox (id, aggregate_type, aggregate_id, partition, type, source, dataschema, nats_subject, data)
             values ($1, 'match', $2, $3, 'com.jetbox.match.created', '/bench',
                     'urn:jetbox:schema:com.jetbox.match.created:v1', $4, $5)`,
            [uuidv7(), a, p, `${prefix}.match.created.${p}`, JSON.stringify({ matchId: a })],
          )
          .then(() => committedAt.set(a, { at: performance.now(), phase: current }));
      }
    })();

    await new Promise((r) => setTimeout(r, 2000)); // relay started, caches warm: not measured
    phase = 'before';
    const relayPg = new CpuMeter();
    relayPg.start(await backendPids(pool, 'jetbox-relay'));
    const beforeStart = latencies.before.length;
    await new Promise((r) => setTimeout(r, PHASE_MS));
    // PostgreSQL CPU of the relay's sessions per event in steady state: the price of the design.
    const relayPgUs = Math.round(
      (relayPg.stop(await backendPids(pool, 'jetbox-relay')) * 1000) /
        Math.max(1, latencies.before.length - beforeStart),
    );
    phase = 'during';
    const t0 = performance.now();
    let removed = 0;
    if (variant === 'delete') {
      for (let n = DELETE_BATCH; n === DELETE_BATCH && removed < OLD_ROWS * 2; removed += n) {
        n = await deletePublished(pool, RETENTION_MS, DELETE_BATCH);
      }
    } else {
      // Day partitions that end before the retention horizon (created in createSchema).
      const old = [-10, -9, -8].map((day) => ({ name: `jetbox_outbox_d${day + 10}` }));
      for (const { name } of old) {
        const n = await pool.query<{ n: string }>(
          `select count(*) as n from ${name} where status = 'published' and published_at < now() - interval '7 days'`,
        );
        const { rowCount: unpublished } = await pool.query(
          `select 1 from ${name} where status <> 'published' or published_at >= now() - interval '7 days' limit 1`,
        );
        if (unpublished) continue; // a partition is dropped only when every row in it is done
        await pool.query(`alter table jetbox_outbox detach partition ${name} concurrently`);
        await pool.query(`drop table ${name}`);
        removed += Number(n.rows[0]!.n);
      }
    }
    const removalMs = performance.now() - t0;
    const bytesAfterRemoval = await tableBytes(pool);
    let vacuumMs = 0;
    if (variant === 'delete') {
      // The deleted rows' space is reusable only after VACUUM (autovacuum in production).
      const t1 = performance.now();
      await pool.query('vacuum jetbox_outbox');
      vacuumMs = performance.now() - t1;
    }
    const duringMs = performance.now() - t0;
    phase = 'after';
    await new Promise((r) => setTimeout(r, PHASE_MS));
    producing = false;
    await producer;
    await new Promise((r) => setTimeout(r, 2000));
    sub.unsubscribe();
    await relay.stop();
    const stats = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return {
        events: s.length,
        p50_ms: Number(percentile(s, 50).toFixed(2)),
        p99_ms: Number(percentile(s, 99).toFixed(2)),
        max_ms: Number((s.at(-1) ?? NaN).toFixed(2)),
      };
    };
    return {
      variant,
      relay_postgres_cpu_us_per_event: relayPgUs,
      removed_rows: removed,
      removal_ms: Math.round(removalMs),
      removal_rows_per_s: Math.round(removed / (removalMs / 1000)),
      vacuum_ms: Math.round(vacuumMs),
      during_ms: Math.round(duringMs),
      table_mb_before: Math.round(bytesBefore / 2 ** 20),
      table_mb_after_removal: Math.round(bytesAfterRemoval / 2 ** 20),
      table_mb_end: Math.round((await tableBytes(pool)) / 2 ** 20),
      before: stats(latencies.before),
      during: stats(latencies.during),
      after: stats(latencies.after),
    };
  } finally {
    await relay.stop();
    await pool.end();
    await deleteStreams(nc, stream);
    await nc.close();
    await db.drop();
  }
}

const results = [];
for (const variant of ['delete', 'partitions'] as const) results.push(await runVariant(variant));
console.table(
  Object.fromEntries(
    results.flatMap((r) =>
      (['before', 'during', 'after'] as const).map((p) => [`${r.variant} ${p}`, r[p]]),
    ),
  ),
);
console.table(
  Object.fromEntries(
    results.map((r) => [
      r.variant,
      {
        'relay PG µs/event': r.relay_postgres_cpu_us_per_event,
        'rows removed': r.removed_rows,
        'removal ms': r.removal_ms,
        'vacuum ms': r.vacuum_ms,
        'MB before': r.table_mb_before,
        'MB after removal': r.table_mb_after_removal,
        'MB end': r.table_mb_end,
      },
    ]),
  ),
);
console.log(JSON.stringify({ bench: 'retention', results }));
