/**
 * What both benches' producers share: a tiny aggregate (`bench_pairing`), a MikroORM with the
 * jetbox outbox subscriber, and units of work committed at a steady rate.
 */
import { EntitySchema, MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import type pg from 'pg';
import { partitionOf } from '../src/jetstream/subjects.js';
import { AggregateRoot } from '../src/outbox/AggregateRoot.js';
import { createOutbox, type Outbox } from '../src/outbox/createOutbox.js';
import { jetboxOrmOptions } from '../src/orm/jetboxOrmOptions.js';

/** The bench's aggregate table; create it before the producers start. */
export const BENCH_PAIRING_DDL = 'create table bench_pairing (id uuid primary key)';

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

export interface BenchProducers {
  orm: MikroORM;
  outbox: Outbox;
}

export async function initBenchProducers(options: {
  databaseUrl: string;
  subjectPrefix: string;
  partitions: number;
  pool: { min: number; max: number };
}): Promise<BenchProducers> {
  const outbox = createOutbox({
    source: '/bench',
    partitions: options.partitions,
    subjectPrefix: options.subjectPrefix,
  });
  const base = jetboxOrmOptions();
  const orm = await MikroORM.init(
    defineConfig({
      ...base,
      clientUrl: options.databaseUrl,
      entities: [...base.entities, PairingSchema],
      subscribers: [outbox.subscriber],
      pool: options.pool,
    }),
  );
  return { orm, outbox };
}

/** A steady schedule: `total` commits from `producers` concurrent writers at `rate` per second. */
export interface RatePlan {
  rate: number;
  total: number;
  producers: number;
}

/**
 * Runs `commitOne` on the plan's schedule; each call commits one event and returns its aggregate
 * id, passed on to `onCommit`. Resolves with how far behind the schedule it finished (ms).
 */
async function onSchedule(
  plan: RatePlan,
  commitOne: () => Promise<string>,
  onCommit: (aggregateId: string) => void,
): Promise<number> {
  const start = performance.now();
  await Promise.all(
    Array.from({ length: plan.producers }, async (_, w) => {
      for (let i = w; i < plan.total; i += plan.producers) {
        const wait = start + (i * 1000) / plan.rate - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        onCommit(await commitOne());
      }
    }),
  );
  return performance.now() - start - (plan.total * 1000) / plan.rate;
}

/** Units of work through MikroORM: a pairing and its `match.created` event, one flush each. */
export function produceAtRate(
  { orm, outbox }: BenchProducers,
  plan: RatePlan,
  onCommit: (aggregateId: string) => void,
): Promise<number> {
  return onSchedule(
    plan,
    async () => {
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
      return p.id;
    },
    onCommit,
  );
}

/** Where bench outbox rows go: `<subjectPrefix>.match.created.<partition>`, as the outbox routes them. */
export interface OutboxTarget {
  subjectPrefix: string;
  partitions: number;
}

/**
 * Inserts `match.created` outbox rows exactly as the outbox writes them, in one statement (seq in
 * array order); one transaction and one NOTIFY.
 */
export async function insertOutboxRows(
  db: Pick<pg.Pool, 'query'>,
  target: OutboxTarget,
  rows: { id: string; aggregateId: string; data: string }[],
): Promise<void> {
  await db.query({
    name: 'bench_outbox_insert',
    text: `insert into jetbox_outbox (id, aggregate_type, aggregate_id, partition, type, source, dataschema, nats_subject, data)
           select v.id, 'match', v.agg, v.p, 'com.jetbox.match.created', '/bench',
                  'urn:jetbox:schema:com.jetbox.match.created:v1', $5 || '.match.created.' || v.p, v.data::jsonb
           from unnest($1::uuid[], $2::text[], $3::int[], $4::text[]) with ordinality v(id, agg, p, data, n)
           order by v.n`,
    values: [
      rows.map((r) => r.id),
      rows.map((r) => r.aggregateId),
      rows.map((r) => partitionOf(r.aggregateId, target.partitions)),
      rows.map((r) => r.data),
      target.subjectPrefix,
    ],
  });
}

/**
 * The least a relay's mark can be, for the PostgreSQL ceiling and the raw relay: rows ($1) set
 * published with their stream seqs ($2), nothing checked.
 */
export const RAW_MARK_PUBLISHED = `update jetbox_outbox o set status = 'published', published_at = now(), stream_seq = v.s
  from unnest($1::uuid[], $2::bigint[]) v(id, s) where o.id = v.id`;

/** `match.created` data for an aggregate, as the benches' handlers read it. */
export const matchCreatedData = (matchId: string) =>
  JSON.stringify({ matchId, userIds: [uuidv7(), uuidv7()], region: 'eu-west' });

/**
 * Outbox rows committed by plain SQL, one insert (one transaction, one NOTIFY) per event: the
 * producer for benches that measure what happens after the commit, at a fraction of an ORM
 * unit of work's CPU.
 */
export function produceRowsAtRate(
  pool: pg.Pool,
  target: OutboxTarget,
  plan: RatePlan,
  onCommit: (aggregateId: string) => void,
): Promise<number> {
  return onSchedule(
    plan,
    async () => {
      const id = uuidv7();
      await insertOutboxRows(pool, target, [{ id, aggregateId: id, data: matchCreatedData(id) }]);
      return id;
    },
    onCommit,
  );
}
