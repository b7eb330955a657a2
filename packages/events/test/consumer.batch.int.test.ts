import { expect } from 'chai';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import type { Consumer } from '../src/consumer/createConsumer.js';
import type { HandlerContext } from '../src/consumer/consumerOptions.js';
import {
  createConsumerHarness,
  newMatch,
  waitFor,
  type ConsumerHarness,
} from './consumerHarness.js';

describe('consumer: several events per transaction (PostgreSQL + NATS)', function () {
  this.timeout(30_000);
  let h: ConsumerHarness;
  let testNo = 0;
  let partition = 0;
  let name = '';

  before(async () => {
    h = await createConsumerHarness();
    await h.sql(
      'create table effects (id bigserial primary key, consumer text not null, event_id uuid not null)',
    );
  });

  beforeEach(() => {
    testNo++;
    partition = testNo;
    name = `b${testNo}`;
  });

  afterEach(async () => h.assertStopped());

  after(async () => h?.close());

  interface Call {
    eventId: string;
    /** The transaction the handler ran in; calls sharing it were one batch. */
    tx: unknown;
  }

  /**
   * A consumer (concurrency 1) whose first event's handler waits for `open()`: every event
   * published meanwhile is delivered and waits, so the next transaction takes them all.
   */
  function gatedConsumer(
    fail: (eventId: string, ctx: HandlerContext) => boolean | Promise<boolean>,
  ) {
    const calls: Call[] = [];
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let first = true;
    const consumer = h.consumer({
      name,
      subjects: `${h.prefix}.*.*.${partition}`,
      concurrency: 1,
      batchSize: 50,
      backoff: { initialMs: 50 },
      handlers: {
        'com.jetbox.match.created': async (_data, ctx) => {
          calls.push({ eventId: ctx.event.id, tx: ctx.em.getTransactionContext() });
          if (first) {
            first = false;
            await gate;
          }
          await ctx.em.execute('insert into effects (consumer, event_id) values (?, ?)', [
            name,
            ctx.event.id,
          ]);
          if (await fail(ctx.event.id, ctx)) throw new Error(`handler of ${ctx.event.id} failed`);
        },
      },
    });
    return { consumer, calls, open };
  }

  async function allDelivered(consumer: Consumer, count: number) {
    const jsm = await jetstreamManager(h.nc);
    await waitFor(`${count} delivered`, async () => {
      const info = await jsm.consumers.info(h.stream, consumer.durables[0]!);
      return info.num_ack_pending === count;
    });
    // Delivered by the server; give the client a moment to have them all in hand.
    await new Promise((r) => setTimeout(r, 200));
  }

  const effectIds = async () =>
    (
      await h.sql<{ event_id: string }>(
        'select event_id from effects where consumer = ? order by id',
        [name],
      )
    ).map((r) => r.event_id);

  it('one failing handler rolls the batch back; every effect applies once, the failed one after its backoff', async () => {
    const bad: string[] = [];
    const { consumer, calls, open } = gatedConsumer(
      (id, ctx) => bad.includes(id) && ctx.delivery.attempt === 1,
    );
    const processed: { eventId?: string; batchSize: number }[] = [];
    const retrying: { eventId?: string; attempt: number; delayMs: number }[] = [];
    consumer.events.on('consumer:processed', (e) => processed.push(e));
    consumer.events.on('consumer:retrying', (e) => retrying.push(e));
    await consumer.start();
    const ids = [await h.publish('com.jetbox.match.created', newMatch(), { partition })];
    await waitFor('first handler entered', () => calls.length === 1);
    for (let i = 0; i < 19; i++) {
      const id = uuidv7();
      // The 10th of the batch fails: nine handlers ran before it in the same transaction.
      if (i === 9) bad.push(id);
      ids.push(await h.publish('com.jetbox.match.created', newMatch(), { partition, id }));
    }
    await allDelivered(consumer, 20);
    open();
    await waitFor('20 processed', () => processed.length === 20);
    await consumer.stop();

    const batch = calls.filter((c) => c.tx === calls.find((x) => x.eventId === bad[0])!.tx);
    expect(batch.map((c) => c.eventId)).to.deep.equal(ids.slice(1, 11));
    const callsOf = (id: string) => calls.filter((c) => c.eventId === id).length;
    // Rolled back with the failed one and handled again, alone.
    for (const id of ids.slice(1, 10)) expect(callsOf(id), id).to.equal(2);
    expect(callsOf(bad[0]!)).to.equal(2);
    expect(retrying).to.have.length(1);
    expect(retrying[0]).to.include({ eventId: bad[0], attempt: 1, delayMs: 50 });
    expect(processed.find((p) => p.eventId === bad[0])?.batchSize).to.equal(1);
    expect((await effectIds()).sort()).to.deep.equal([...ids].sort());
  });

  it('does not ack a batch whose handler swallowed a database error: PostgreSQL rolled it back', async () => {
    // The "idempotent insert" that catches its duplicate key leaves the transaction failed, and
    // COMMIT then rolls back without an error.
    await h.sql(`create table once_${name} (event_id uuid primary key)`);
    let poison = '';
    const { consumer, calls, open } = gatedConsumer(async (id, ctx) => {
      if (id === poison && ctx.delivery.attempt === 1) {
        const insert = `insert into once_${name} values (?)`;
        await ctx.em.execute(insert, [id]);
        await ctx.em.execute(insert, [id]).catch(() => undefined);
      }
      return false;
    });
    const processed: string[] = [];
    const retrying: { eventId?: string; error: Error }[] = [];
    consumer.events.on('consumer:processed', (e) => processed.push(e.eventId!));
    consumer.events.on('consumer:retrying', (e) => retrying.push(e));
    await consumer.start();
    const ids = [await h.publish('com.jetbox.match.created', newMatch(), { partition })];
    await waitFor('first handler entered', () => calls.length === 1);
    for (let i = 0; i < 4; i++) {
      ids.push(await h.publish('com.jetbox.match.created', newMatch(), { partition }));
    }
    // The last of its batch: no statement of a later handler would have failed.
    poison = ids[4]!;
    await allDelivered(consumer, 5);
    open();
    await waitFor('5 processed', () => processed.length === 5);
    await consumer.stop();

    expect(retrying.map((r) => r.eventId)).to.deep.equal([poison]);
    expect(retrying[0]!.error.message).to.match(
      /aborted the transaction: a handler caught a database error/,
    );
    expect((await effectIds()).sort()).to.deep.equal([...ids].sort());
    const inbox = await h.sql<{ n: number }>(
      'select count(*)::int as n from jetbox_inbox where consumer = ?',
      [name],
    );
    expect(inbox[0]!.n).to.equal(5);
  });

  it('commits a batch whose handler recovered from a database error through a savepoint', async () => {
    await h.sql(`create table once_${name} (event_id uuid primary key)`);
    const consumer = h.consumer({
      name,
      subjects: `${h.prefix}.*.*.${partition}`,
      concurrency: 1,
      handlers: {
        'com.jetbox.match.created': async (_data, ctx) => {
          const insert = `insert into once_${name} values (?)`;
          await ctx.em.execute(insert, [ctx.event.id]);
          // The duplicate fails inside a nested transaction (a savepoint), rolled back alone.
          await ctx.em
            .transactional((tem) => tem.execute(insert, [ctx.event.id]))
            .catch(() => undefined);
          await ctx.em.execute('insert into effects (consumer, event_id) values (?, ?)', [
            name,
            ctx.event.id,
          ]);
        },
      },
    });
    const processed: string[] = [];
    const retrying: string[] = [];
    consumer.events.on('consumer:processed', (e) => processed.push(e.eventId!));
    consumer.events.on('consumer:retrying', (e) => retrying.push(e.error.message));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await h.publish('com.jetbox.match.created', newMatch(), { partition }));
    }
    await consumer.start();
    await waitFor('3 processed', () => processed.length === 3);
    await consumer.stop();
    expect(retrying).to.deep.equal([]);
    expect((await effectIds()).sort()).to.deep.equal([...ids].sort());
  });

  it("goes on acking and advancing a key when a listener throws, and reports the listener's error", async () => {
    const calls: string[] = [];
    const consumer = h.consumer({
      name,
      subjects: `${h.prefix}.*.*.${partition}`,
      concurrency: 1,
      handlers: {
        'com.jetbox.match.created': (_data, ctx) => {
          calls.push(ctx.event.id);
          return Promise.resolve();
        },
      },
    });
    const errors: string[] = [];
    consumer.events.on('consumer:processed', () => {
      throw new Error('listener bug');
    });
    consumer.events.on('consumer:error', (e) => errors.push(`${e.during}: ${e.error.message}`));
    const key = uuidv7();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const data = {
        matchId: key,
        userIds: [uuidv7(), uuidv7()] as [string, string],
        region: String(i),
      };
      ids.push(await h.publish('com.jetbox.match.created', data, { partition, key }));
    }
    await consumer.start();
    await waitFor('3 handled', () => calls.length === 3);
    const jsm = await jetstreamManager(h.nc);
    await waitFor('all acked', async () => {
      const info = await jsm.consumers.info(h.stream, consumer.durables[0]!);
      return info.num_ack_pending === 0 && info.num_pending === 0;
    });
    await consumer.stop();
    expect(calls).to.deep.equal(ids);
    expect(errors).to.deep.equal(Array(3).fill('listener: listener bug'));
  });

  it("handles a key's queued events together, in order, several per transaction", async () => {
    const key = uuidv7();
    const { consumer, calls, open } = gatedConsumer(() => false);
    const processed: { batchSize: number }[] = [];
    consumer.events.on('consumer:processed', (e) => processed.push(e));
    await consumer.start();
    const ids = [await h.publish('com.jetbox.match.created', newMatch(), { partition, key })];
    await waitFor('first handler entered', () => calls.length === 1);
    for (let i = 0; i < 29; i++) {
      ids.push(await h.publish('com.jetbox.match.created', newMatch(), { partition, key }));
    }
    await allDelivered(consumer, 30);
    open();
    await waitFor('30 processed', () => processed.length === 30);
    await consumer.stop();

    expect(calls.map((c) => c.eventId)).to.deep.equal(ids);
    expect(new Set(calls.slice(1).map((c) => c.tx)).size, 'one transaction').to.equal(1);
    expect(processed.slice(1).map((p) => p.batchSize)).to.deep.equal(ids.slice(1).map(() => 29));
    expect(await effectIds()).to.deep.equal(ids);
  });

  it("retries a key's failing event once the events before it are handled again, and keeps the key's order", async () => {
    const key = uuidv7();
    const bad: string[] = [];
    const { consumer, calls, open } = gatedConsumer(
      (id, ctx) => bad.includes(id) && ctx.delivery.attempt === 1,
    );
    const processed: { eventId?: string; batchSize: number }[] = [];
    const retrying: { eventId?: string; attempt: number }[] = [];
    consumer.events.on('consumer:processed', (e) => processed.push(e));
    consumer.events.on('consumer:retrying', (e) => retrying.push(e));
    await consumer.start();
    const ids = [await h.publish('com.jetbox.match.created', newMatch(), { partition, key })];
    await waitFor('first handler entered', () => calls.length === 1);
    for (let i = 1; i < 20; i++) {
      const id = uuidv7();
      if (i === 10) bad.push(id);
      ids.push(await h.publish('com.jetbox.match.created', newMatch(), { partition, key, id }));
    }
    await allDelivered(consumer, 20);
    open();
    await waitFor('20 processed', () => processed.length === 20);
    await consumer.stop();

    const callsOf = (id: string) => calls.filter((c) => c.eventId === id).length;
    // 1–19 went together and 10 failed there; then 1 again alone, 2–9 together, and 10 alone:
    // its failure there is its first attempt, retried after the backoff; then 11–19 together.
    expect(calls.slice(1, 11).map((c) => c.eventId)).to.deep.equal(ids.slice(1, 11));
    for (const id of ids.slice(1, 10)) expect(callsOf(id), id).to.equal(2);
    expect(callsOf(bad[0]!)).to.equal(3);
    for (const id of ids.slice(11)) expect(callsOf(id), id).to.equal(1);
    expect(retrying.map((r) => [r.eventId, r.attempt])).to.deep.equal([[bad[0], 1]]);
    const sizes = new Map(processed.map((p) => [p.eventId, p.batchSize]));
    expect(ids.slice(1).map((id) => sizes.get(id))).to.deep.equal([
      1,
      ...ids.slice(2, 10).map(() => 8),
      1,
      ...ids.slice(11).map(() => 9),
    ]);
    expect(await effectIds()).to.deep.equal(ids);
  });

  /**
   * Publishes an event whose transaction then waits on its inbox row, held in an open transaction
   * of the test's own (a running transaction with no handler time) until `release()`, and then
   * `count` events of other keys.
   */
  async function publishBehindHeldRow(count: number) {
    const held = uuidv7();
    const client = new pg.Client({ connectionString: h.db.url });
    await client.connect();
    await client.query('begin');
    await client.query('insert into jetbox_inbox (consumer, event_id) values ($1, $2)', [
      name,
      held,
    ]);
    let released: Promise<void> | undefined;
    const release = () =>
      (released ??= client.query('rollback').then(
        () => client.end(),
        () => client.end(),
      ));
    try {
      await h.publish('com.jetbox.match.created', newMatch(), { partition, id: held });
      await waitFor('its transaction waiting on the inbox row', async () => {
        const [row] = await h.sql<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
        );
        return row!.n > 0;
      });
      const later: string[] = [];
      for (let i = 0; i < count; i++) {
        later.push(await h.publish('com.jetbox.match.created', newMatch(), { partition }));
      }
      return { held, later, release };
    } catch (err) {
      await release();
      throw err;
    }
  }

  /**
   * A started consumer of 4 transactions whose first `warmUp` handlers take `warmUpHandlerMs`
   * (the rest return at once), after those have been handled.
   */
  async function lingeringConsumer(warmUp: number, warmUpHandlerMs: number) {
    const calls: Call[] = [];
    const processed: string[] = [];
    const consumer = h.consumer({
      name,
      subjects: `${h.prefix}.*.*.${partition}`,
      concurrency: 4,
      // Longer than the test: an event that waits, waits for a running transaction to end.
      lingerMs: 60_000,
      handlers: {
        'com.jetbox.match.created': async (_data, ctx) => {
          calls.push({ eventId: ctx.event.id, tx: ctx.em.getTransactionContext() });
          if (calls.length <= warmUp) await new Promise((r) => setTimeout(r, warmUpHandlerMs));
        },
      },
    });
    consumer.events.on('consumer:processed', (e) => processed.push(e.eventId!));
    await consumer.start();
    for (let i = 0; i < warmUp; i++) {
      await h.publish('com.jetbox.match.created', newMatch(), { partition });
    }
    await waitFor(`${warmUp} handled`, () => processed.length === warmUp);
    return { consumer, calls, processed };
  }

  it('with handlers quicker than a transaction, events arriving while one runs wait for it and then share one', async () => {
    const { consumer, calls, processed } = await lingeringConsumer(5, 0);
    const { held, later, release } = await publishBehindHeldRow(5);
    try {
      await allDelivered(consumer, 6);
      expect(calls.length, 'no later event started beside the waiting transaction').to.equal(5);
      await release();
      await waitFor('all handled', () => processed.length === 11);
      await consumer.stop();
      expect(calls.slice(5).map((c) => c.eventId)).to.deep.equal([held, ...later]);
      expect(new Set(calls.slice(6).map((c) => c.tx)).size, 'one transaction').to.equal(1);
    } finally {
      await release();
    }
  });

  it('with handlers slower than a transaction, events start at once beside a running one', async () => {
    const { consumer, calls, processed } = await lingeringConsumer(5, 100);
    const { later, release } = await publishBehindHeldRow(3);
    try {
      await waitFor('the later events handled while the first waits', () => processed.length === 8);
      expect(calls.slice(5).map((c) => c.eventId)).to.have.members(later);
      expect(new Set(calls.slice(5).map((c) => c.tx)).size, 'own transactions').to.equal(3);
      await release();
      await waitFor('all handled', () => processed.length === 9);
      await consumer.stop();
    } finally {
      await release();
    }
  });

  it('skips events already in the inbox inside a batch and handles the rest in it', async () => {
    const { consumer, calls, open } = gatedConsumer(() => false);
    const processed: { eventId?: string; batchSize: number }[] = [];
    const duplicates: (string | undefined)[] = [];
    consumer.events.on('consumer:processed', (e) => processed.push(e));
    consumer.events.on('consumer:duplicate', (e) => duplicates.push(e.eventId));
    await consumer.start();
    const first = await h.publish('com.jetbox.match.created', newMatch(), { partition });
    await waitFor('first handler entered', () => calls.length === 1);
    const ids = Array.from({ length: 10 }, () => uuidv7());
    const applied = ids.filter((_, i) => i % 3 === 0);
    for (const id of applied) {
      await h.sql('insert into jetbox_inbox (consumer, event_id) values (?, ?)', [name, id]);
    }
    for (const id of ids)
      await h.publish('com.jetbox.match.created', newMatch(), { partition, id });
    await allDelivered(consumer, 11);
    open();
    await waitFor('all settled', () => processed.length + duplicates.length === 11);
    await consumer.stop();

    const fresh = ids.filter((id) => !applied.includes(id));
    expect(duplicates).to.deep.equal(applied);
    expect(calls.map((c) => c.eventId)).to.deep.equal([first, ...fresh]);
    expect(new Set(calls.slice(1).map((c) => c.tx)).size, 'one transaction').to.equal(1);
    expect(processed.filter((p) => p.eventId !== first).map((p) => p.batchSize)).to.deep.equal(
      fresh.map(() => 10),
    );
    expect((await effectIds()).sort()).to.deep.equal([first, ...fresh].sort());
  });

  it('with batchSize 1 gives every event its own transaction', async () => {
    const txs = new Set<unknown>();
    const consumer = h.consumer({
      name,
      subjects: `${h.prefix}.*.*.${partition}`,
      batchSize: 1,
      handlers: {
        'com.jetbox.match.created': async (_data, ctx) => {
          txs.add(ctx.em.getTransactionContext());
          await ctx.em.execute('insert into effects (consumer, event_id) values (?, ?)', [
            name,
            ctx.event.id,
          ]);
        },
      },
    });
    const sizes: number[] = [];
    consumer.events.on('consumer:processed', (e) => sizes.push(e.batchSize));
    for (let i = 0; i < 10; i++) {
      await h.publish('com.jetbox.match.created', newMatch(), { partition });
    }
    await consumer.start();
    await waitFor('10 processed', () => sizes.length === 10);
    await consumer.stop();
    expect(sizes).to.deep.equal(Array.from({ length: 10 }, () => 1));
    expect(txs.size).to.equal(10);
  });
});
