/**
 * `npm run bench:claim`: what one relay claim (up to 500 rows) costs PostgreSQL as the relay runs
 * it, a prepared statement on its generic plan, against the shapes an outbox takes:
 *   spread      20,000 pending rows, one per aggregate (the common case)
 *   one-aggregate  20,000 pending rows of a single aggregate
 *   behind-failed  20,000 pending rows of an aggregate whose earliest row failed, and 10 others:
 *                  what every sweep (one per `pollIntervalMs`) reads while the failed row waits
 *   many-failed    10,000 aggregates whose earliest row failed, each with a pending row behind
 *                  it, and 10 others: a failure storm (more waiting aggregates than a claim
 *                  rules out by hash)
 * The ceiling is a plain read of the same rows in seq order through the claim index, without
 * any per-aggregate check. Prints a table, then one JSON line.
 */
import pg from 'pg';
import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import { jetboxOrmOptions, migrate } from '../src/orm/jetboxOrmOptions.js';
import { createTestDatabase } from '../src/testing/index.js';
import { claimBatch } from '../src/relay/outboxSql.js';
import { relaySessionConfig } from '../src/relay/relaySession.js';
import { insertOutboxRows, matchCreatedData } from './benchProducers.js';

const ROWS = Number(process.env.BENCH_CLAIM_ROWS ?? 20_000);
const BATCH = 500;
const PARTITIONS = 16;
const RUNS = 15;
// Relay sessions plan the claim once (generic plans only; the table shows the plans used). The
// first runs warm the session's caches and are not measured.
const WARMUP_RUNS = 6;
const OWNED = Array.from({ length: PARTITIONS }, (_, i) => i);
const target = { subjectPrefix: 'bench', partitions: PARTITIONS };

type Shape = 'spread' | 'one-aggregate' | 'behind-failed' | 'many-failed';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const row = (aggregateId: string) => ({
  id: uuidv7(),
  aggregateId,
  data: matchCreatedData(aggregateId),
});

async function fill(db: pg.Client, shape: Shape): Promise<void> {
  await db.query('truncate jetbox_outbox');
  const hot = uuidv7();
  const failPending = () =>
    db.query(`update jetbox_outbox set status = 'failed', attempts = 10 where status = 'pending'`);
  if (shape === 'behind-failed') {
    await insertOutboxRows(db, target, [row(hot)]);
    await failPending();
  }
  for (let start = 0; start < ROWS; start += 5000) {
    const n = Math.min(5000, ROWS - start);
    if (shape === 'many-failed') {
      // Each aggregate: a failed row, then a pending one behind it.
      const aggregates = Array.from({ length: n / 2 }, () => uuidv7());
      await insertOutboxRows(db, target, aggregates.map(row));
      await failPending();
      await insertOutboxRows(db, target, aggregates.map(row));
    } else {
      const aggregate = () => (shape === 'spread' ? uuidv7() : hot);
      await insertOutboxRows(
        db,
        target,
        Array.from({ length: n }, () => row(aggregate())),
      );
    }
  }
  if (shape === 'behind-failed' || shape === 'many-failed') {
    await insertOutboxRows(
      db,
      target,
      Array.from({ length: 10 }, () => row(uuidv7())),
    );
  }
  await db.query('vacuum analyze jetbox_outbox');
}

/** Median ms of `run` after the warm-up runs, on a session of its own. */
async function timed(url: string, run: (db: pg.Client) => Promise<number>) {
  const db = new pg.Client(relaySessionConfig(url));
  await db.connect();
  try {
    const ms: number[] = [];
    let rows = 0;
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      rows = await run(db);
      if (i >= WARMUP_RUNS) ms.push(performance.now() - t);
    }
    const { rows: plans } = await db.query<{ generic_plans: string; custom_plans: string }>(
      'select generic_plans, custom_plans from pg_prepared_statements',
    );
    return { ms: median(ms), rows, plans: plans[0] };
  } finally {
    await db.end();
  }
}

async function main() {
  const database = await createTestDatabase('jetbox_bench_claim');
  const orm = await MikroORM.init(defineConfig({ ...jetboxOrmOptions(), clientUrl: database.url }));
  const admin = new pg.Client({ connectionString: database.url });
  try {
    await migrate(orm);
    await admin.connect();
    const table: Record<string, Record<string, number | string>> = {};
    const json: Record<string, number> = {};
    for (const shape of ['spread', 'one-aggregate', 'behind-failed', 'many-failed'] as Shape[]) {
      await fill(admin, shape);
      const claim = await timed(
        database.url,
        async (db) => (await claimBatch(db, OWNED, BATCH, '0')).rows.length,
      );
      const ceiling = await timed(
        database.url,
        async (db) =>
          (
            await db.query({
              name: 'bench_plain_read',
              text: `select id, seq, aggregate_type, aggregate_id, type, source, dataschema, nats_subject,
                          headers, data::text as data, attempts, created_at
                   from jetbox_outbox where status = 'pending' and seq > $1 order by seq limit $2`,
              values: ['0', BATCH],
            })
          ).rowCount ?? 0,
      );
      table[shape] = {
        'rows claimed': claim.rows,
        'claim plans (generic / custom)': `${claim.plans?.generic_plans} / ${claim.plans?.custom_plans}`,
        'claim ms': Number(claim.ms.toFixed(2)),
        'plain read ms': Number(ceiling.ms.toFixed(2)),
        'claim / read': Number((claim.ms / ceiling.ms).toFixed(2)),
      };
      const key = shape.replace('-', '_');
      json[`${key}_claim_ms`] = Number(claim.ms.toFixed(2));
      json[`${key}_read_ms`] = Number(ceiling.ms.toFixed(2));
    }
    console.table(table);
    console.log(JSON.stringify({ bench: 'claim', rows: ROWS, batch: BATCH, ...json }));
  } finally {
    await admin.end().catch(() => undefined);
    await orm.close(true);
    await database.drop();
  }
}

await main();
