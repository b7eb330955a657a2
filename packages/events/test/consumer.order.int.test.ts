import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import {
  createConsumerHarness,
  publishRounds,
  waitFor,
  type ConsumerHarness,
} from './consumerHarness.js';

const KEYS = 50;
const PER_KEY = 40;
const TOTAL = KEYS * PER_KEY;

describe('consumer: per-key order with concurrency and failures (PostgreSQL + NATS)', function () {
  this.timeout(60_000);
  let h: ConsumerHarness;

  before(async () => {
    h = await createConsumerHarness();
    await h.sql(
      'create table applied (id bigserial primary key, key text not null, n int not null)',
    );
  });

  afterEach(async () => h.assertStopped());

  after(async () => h?.close());

  it(`applies ${TOTAL} events over ${KEYS} keys in per-key order with concurrency 8 and random failures`, async () => {
    const keys = Array.from({ length: KEYS }, () => uuidv7());
    await publishRounds(h, keys, PER_KEY);
    let active = 0;
    let maxActive = 0;
    let failures = 0;
    const failuresOf = new Map<string, number>();
    const consumer = h.consumer({
      name: 'order',
      concurrency: 8,
      maxDeliver: 5,
      backoff: { initialMs: 5, multiplier: 2, maxMs: 40 },
      handlers: {
        'com.jetbox.match.created': async (data, ctx) => {
          active++;
          maxActive = Math.max(maxActive, active);
          try {
            await ctx.em.execute('insert into applied (key, n) values (?, ?)', [
              data.matchId,
              Number(data.region),
            ]);
            // Fails about one attempt in ten, after its write, at most twice per event.
            const failed = failuresOf.get(ctx.event.id) ?? 0;
            if (failed < 2 && Math.random() < 0.1) {
              failuresOf.set(ctx.event.id, failed + 1);
              failures++;
              throw new Error('random failure');
            }
          } finally {
            active--;
          }
        },
      },
    });
    const dead: unknown[] = [];
    let processed = 0;
    consumer.events.on('consumer:deadLettered', (e) => dead.push(e));
    consumer.events.on('consumer:processed', () => processed++);
    const t0 = performance.now();
    await consumer.start();
    await waitFor(
      `${TOTAL} events processed`,
      () => processed === TOTAL || dead.length > 0,
      45_000,
    );
    const elapsed = performance.now() - t0;
    await consumer.stop();
    console.log(
      `      ${TOTAL} events, ${failures} failures, max ${maxActive} in parallel: ${Math.round(elapsed)} ms`,
    );

    expect(dead).to.deep.equal([]);
    expect(failures).to.be.greaterThan(50);
    expect(maxActive).to.be.within(2, 8);
    const rows = await h.sql<{ key: string; ns: number[] }>(
      'select key, array_agg(n order by id) as ns from applied group by key',
    );
    expect(rows).to.have.length(KEYS);
    const expected = Array.from({ length: PER_KEY }, (_, i) => i);
    for (const row of rows) expect(row.ns, `key ${row.key}`).to.deep.equal(expected);
  });
});
