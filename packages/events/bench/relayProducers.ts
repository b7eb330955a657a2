/**
 * The latency phase's producers, in a worker thread of their own: MikroORM costs ≈ 0.7 ms of CPU
 * per unit of work, and on the bench's main thread that work would delay the callback that
 * timestamps each message's arrival. Commit times are not taken here (this thread may notice a
 * commit late): the database records them, see the bench.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBenchProducers, produceAtRate } from './benchProducers.js';

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

const input = workerData as ProducersInput;
const producersSetup = await initBenchProducers({
  databaseUrl: input.databaseUrl,
  subjectPrefix: input.subjectPrefix,
  partitions: input.partitions,
  pool: { min: input.producers, max: input.producers + 2 },
});
const { orm } = producersSetup;
// Open the pool's connections before the clock starts.
await Promise.all(
  Array.from({ length: input.producers }, () => orm.em.getConnection().execute('select 1')),
);
let committed = 0;
parentPort!.postMessage('ready');
const behindMs = await produceAtRate(producersSetup, input, () => committed++);
const output: ProducersOutput = { committed, behindMs };
parentPort!.postMessage(output);
// The bench meters these sessions' CPU before they go: close only when told.
await new Promise((resolve) => parentPort!.once('message', resolve));
await orm.close(true);
