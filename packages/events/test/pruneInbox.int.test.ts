import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import { pruneInbox } from '../src/consumer/pruneInbox.js';
import { isJetboxError } from '../src/errors.js';
import { createConsumerHarness, type ConsumerHarness } from './consumerHarness.js';

describe('inbox retention (PostgreSQL)', () => {
  let h: ConsumerHarness;

  before(async () => {
    h = await createConsumerHarness();
  });

  after(async () => h?.close());

  const count = async (consumer: string) =>
    Number(
      (
        await h.sql<{ n: string }>(
          'select count(*)::text as n from jetbox_inbox where consumer = ?',
          [consumer],
        )
      )[0]!.n,
    );

  it('deletes old rows in bounded batches and keeps recent ones', async () => {
    for (const consumer of ['a', 'b']) {
      await h.sql(
        `insert into jetbox_inbox (consumer, event_id, processed_at)
         select ?, gen_random_uuid(), now() - interval '2 days' from generate_series(1, 25)`,
        [consumer],
      );
      await h.sql('insert into jetbox_inbox (consumer, event_id) values (?, ?)', [
        consumer,
        uuidv7(),
      ]);
    }
    const day = 24 * 3600 * 1000;
    expect(
      await pruneInbox(h.orm, { olderThanMs: day, consumer: 'a', batchSize: 10, maxBatches: 2 }),
    ).to.equal(20);
    expect(await count('a')).to.equal(6);
    expect(await pruneInbox(h.orm, { olderThanMs: day, batchSize: 10 })).to.equal(30);
    expect(await count('a')).to.equal(1);
    expect(await count('b')).to.equal(1);
    expect(await pruneInbox(h.orm, { olderThanMs: day })).to.equal(0);
    try {
      await pruneInbox(h.orm, { olderThanMs: day, batchSize: 0 });
      expect.fail('accepted batchSize 0');
    } catch (err) {
      expect(isJetboxError(err, 'INVALID_OPTIONS')).to.equal(true);
    }
  });
});
