/**
 * What both benches' producers share: a tiny aggregate (`bench_pairing`), a MikroORM with the
 * jetbox outbox subscriber, and units of work committed at a steady rate.
 */
import { EntitySchema, MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
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

/**
 * `total` units of work (a pairing and its `match.created` event, one flush each) from
 * `producers` concurrent writers on a schedule of `rate` per second. Calls `onCommit` with the
 * aggregate id after each flush; resolves with how far behind the schedule it finished (ms).
 */
export async function produceAtRate(
  { orm, outbox }: BenchProducers,
  plan: { rate: number; total: number; producers: number },
  onCommit: (aggregateId: string) => void,
): Promise<number> {
  const start = performance.now();
  await Promise.all(
    Array.from({ length: plan.producers }, async (_, w) => {
      for (let i = w; i < plan.total; i += plan.producers) {
        const wait = start + (i * 1000) / plan.rate - performance.now();
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
        onCommit(p.id);
      }
    }),
  );
  return performance.now() - start - (plan.total * 1000) / plan.rate;
}
