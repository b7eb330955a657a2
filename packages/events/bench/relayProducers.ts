/**
 * The latency phase's producers, in a worker thread of their own: MikroORM costs ≈ 0.7 ms of CPU
 * per unit of work, and on the bench's main thread that work would delay the callback that
 * timestamps each message's arrival. Commit times are not taken here (this thread may notice a
 * commit late): the database records them, see the bench.
 */
import { EntitySchema, MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { parentPort, workerData } from 'node:worker_threads';
import { v7 as uuidv7 } from 'uuid';
import { AggregateRoot } from '../src/outbox/AggregateRoot.js';
import { createOutbox } from '../src/outbox/createOutbox.js';
import { jetboxOrmOptions } from '../src/orm/jetboxOrmOptions.js';

export interface ProducersInput {
  databaseUrl: string;
  subjectPrefix: string;
  partitions: number;
  rate: number;
  total: number;
  producers: number;
}

/** Posted once at the end: how many units of work committed, and how late the schedule ran. */
export interface ProducersOutput {
  committed: number;
  behindMs: number;
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

const input = workerData as ProducersInput;
const outbox = createOutbox({
  source: '/bench',
  partitions: input.partitions,
  subjectPrefix: input.subjectPrefix,
});
const base = jetboxOrmOptions();
const orm = await MikroORM.init(
  defineConfig({
    ...base,
    clientUrl: input.databaseUrl,
    entities: [...base.entities, PairingSchema],
    subscribers: [outbox.subscriber],
    pool: { min: input.producers, max: input.producers + 2 },
  }),
);
// Open the pool's connections before the clock starts.
await Promise.all(
  Array.from({ length: input.producers }, () => orm.em.getConnection().execute('select 1')),
);
let committed = 0;
parentPort!.postMessage('ready');
const start = performance.now();
await Promise.all(
  Array.from({ length: input.producers }, async (_, w) => {
    for (let i = w; i < input.total; i += input.producers) {
      const wait = start + (i * 1000) / input.rate - performance.now();
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
      committed++;
    }
  }),
);
const behindMs = performance.now() - start - (input.total * 1000) / input.rate;
const output: ProducersOutput = { committed, behindMs };
parentPort!.postMessage(output);
// The bench meters these sessions' CPU before they go: close only when told.
await new Promise((resolve) => parentPort!.once('message', resolve));
await orm.close(true);
