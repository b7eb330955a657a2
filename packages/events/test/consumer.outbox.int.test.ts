import { expect } from 'chai';
import { MikroORM, defineConfig, type EntityManager } from '@mikro-orm/postgresql';
import type { EventDataMap } from '@jetbox/schemas';
import type { Consumer } from '../src/consumer/createConsumer.js';
import { createOutbox } from '../src/outbox/createOutbox.js';
import { jetboxOrmOptions } from '../src/orm/jetboxOrmOptions.js';
import {
  createConsumerHarness,
  newMatch,
  waitFor,
  type ConsumerHarness,
} from './consumerHarness.js';

describe('consumer: events a handler records commit with its inbox row (PostgreSQL + NATS)', function () {
  this.timeout(30_000);
  let h: ConsumerHarness;
  let orm: MikroORM;
  const outbox = createOutbox({
    source: '/consumer-test',
    partitions: 4,
    subjectPrefix: 'reacted',
  });

  before(async () => {
    h = await createConsumerHarness();
    // The application's ORM: jetbox's entities and the outbox's flush subscriber.
    orm = await MikroORM.init(
      defineConfig({
        ...jetboxOrmOptions(),
        clientUrl: h.db.url,
        subscribers: [outbox.subscriber],
      }),
    );
  });
  afterEach(async () => h.assertStopped());
  after(async () => {
    await orm?.close();
    await h?.close();
  });

  const outboxRows = (aggregateId: string) =>
    h.sql<{ type: string }>('select type from jetbox_outbox where aggregate_id = ?', [aggregateId]);

  /** What a relay woken by each commit would find: the match's outbox rows at each wake-up. */
  function watchWakeUps(matchId: string) {
    const seen: Promise<number>[] = [];
    const unsubscribe = outbox.onCommit(() => {
      seen.push(outboxRows(matchId).then((rows) => rows.length));
    });
    return { seen: () => Promise.all(seen), unsubscribe };
  }

  /** Starts `consumer`, publishes `match`'s creation and stops once that event is processed. */
  async function handleOne(consumer: Consumer, match: EventDataMap['com.jetbox.match.created']) {
    const processed: (string | undefined)[] = [];
    consumer.events.on('consumer:processed', (e) => processed.push(e.eventId));
    await consumer.start();
    const id = await h.publish('com.jetbox.match.created', match);
    await waitFor('the event processed', () => processed.includes(id));
    await consumer.stop();
  }

  /** The reaction the handlers record: the match, cancelled. */
  const recordCancellation = (em: EntityManager, data: EventDataMap['com.jetbox.match.created']) =>
    outbox.add(em, {
      type: 'com.jetbox.match.cancelled',
      aggregateType: 'match',
      aggregateId: data.matchId,
      data: { matchId: data.matchId, userIds: data.userIds, reason: { code: 'other' } },
    });

  it('records the reaction once, with the inbox row, and wakes the relay after the commit; a failed attempt records nothing', async () => {
    const match = newMatch();
    let attempts = 0;
    const wakeUps = watchWakeUps(match.matchId);
    const consumer = h.consumer({
      orm,
      name: 'reactor',
      subjects: `${h.prefix}.>`,
      backoff: { initialMs: 50, maxMs: 50 },
      handlers: {
        'com.jetbox.match.created': async (data, ctx) => {
          recordCancellation(ctx.em, data);
          await ctx.em.flush();
          if (++attempts === 1) throw new Error('after recording: roll it all back');
        },
      },
    });
    try {
      const processed: unknown[] = [];
      consumer.events.on('consumer:processed', (e) => processed.push(e));
      await consumer.start();
      await h.publish('com.jetbox.match.created', match);
      await waitFor('the event processed', () => processed.length === 1);
      await consumer.stop();
      expect(attempts).to.equal(2);
      expect(await outboxRows(match.matchId)).to.deep.equal([
        { type: 'com.jetbox.match.cancelled' },
      ]);
      const inbox = await h.sql<{ n: number }>(
        "select count(*)::int as n from jetbox_inbox where consumer = 'reactor'",
      );
      expect(inbox[0]!.n).to.equal(1);
      expect(await wakeUps.seen()).to.deep.equal([1]);
    } finally {
      wakeUps.unsubscribe();
    }
  });

  it('wakes the relay for events recorded in a transaction the handler nests in its own', async () => {
    const match = newMatch();
    const wakeUps = watchWakeUps(match.matchId);
    const consumer = h.consumer({
      orm,
      name: 'nested-reactor',
      subjects: `${h.prefix}.>`,
      handlers: {
        'com.jetbox.match.created': async (data, ctx) => {
          if (data.matchId !== match.matchId) return; // an earlier test's event
          // A savepoint inside the batch's transaction: its rows commit with the batch.
          await ctx.em.transactional(async (em) => {
            recordCancellation(em, data);
            await em.flush();
          });
        },
      },
    });
    try {
      await handleOne(consumer, match);
      expect(await outboxRows(match.matchId)).to.have.length(1);
      expect(await wakeUps.seen()).to.deep.equal([1]);
    } finally {
      wakeUps.unsubscribe();
    }
  });

  it('keeps what a handler writes through the global EntityManager in the batch: a failed attempt rolls it back', async () => {
    await orm.em.fork().execute('create table if not exists reaction (match_id uuid primary key)');
    const match = newMatch();
    let attempts = 0;
    const consumer = h.consumer({
      orm,
      name: 'global-em-reactor',
      subjects: `${h.prefix}.>`,
      backoff: { initialMs: 50, maxMs: 50 },
      handlers: {
        'com.jetbox.match.created': async (data) => {
          if (data.matchId !== match.matchId) return; // an earlier test's event
          // Not ctx.em: the ORM's global EntityManager resolves to the batch's transaction.
          await orm.em.execute('insert into reaction values (?)', [data.matchId]);
          if (++attempts === 1) throw new Error('after writing: roll it back');
        },
      },
    });
    await handleOne(consumer, match);
    expect(attempts).to.equal(2);
    const rows = await h.sql<{ n: number }>(
      'select count(*)::int as n from reaction where match_id = ?',
      [match.matchId],
    );
    expect(rows[0]!.n).to.equal(1);
  });
});
