import { expect } from 'chai';
import type { NatsConnection } from '@nats-io/transport-node';
import { createRelay, type Relay } from '../src/relay/createRelay.js';
import { requeueFailed } from '../src/relay/requeueFailed.js';
import { isJetboxError } from '../src/errors.js';
import { connectTestNats } from '../src/testing/index.js';
import {
  byAggregate,
  createRelayFixture,
  waitFor,
  type RelayFixture,
} from './support/relayFixture.js';

describe('relay (real PostgreSQL and JetStream)', function () {
  this.timeout(60_000);
  let nc: NatsConnection;
  let fx: RelayFixture;
  const relays: Relay[] = [];

  const relay = (extra: Partial<Parameters<typeof createRelay>[0]> = {}) => {
    const r = createRelay({
      databaseUrl: fx.db.url,
      nats: nc,
      outbox: fx.outbox,
      stream: fx.stream,
      pollIntervalMs: 200,
      ...extra,
    });
    relays.push(r);
    return r;
  };
  // The poll out of the way (60 s), with a retry gap still inside the duplicate window.
  const NO_POLL = { pollIntervalMs: 60_000, backoffMaxMs: 1000 };
  const statuses = async () =>
    (
      await fx.pool.query<{ status: string; n: number }>(
        'select status, count(*)::int as n from jetbox_outbox group by status',
      )
    ).rows;

  before(async () => {
    nc = await connectTestNats();
  });
  beforeEach(async () => {
    fx = await createRelayFixture(nc);
  });
  afterEach(async () => {
    for (const r of relays.splice(0)) await r.stop();
    await fx.close();
  });
  after(async () => {
    await nc.close();
  });

  it('publishes every pending row once, in per-aggregate order, with Nats-Msg-Id = CloudEvent id', async () => {
    const inserted = await fx.insertEvents(500, 25);
    const r = relay({ batchSize: 100 });
    await r.start();
    await waitFor('500 messages', async () => (await fx.streamCount()) === 500);
    await waitFor('rows marked', async () =>
      (await statuses()).every((s) => s.status === 'published'),
    );
    const stream = await fx.readStream();
    expect(new Set(stream.map((m) => m.id)).size).to.equal(500);
    for (const m of stream) expect(m.msgId).to.equal(m.id);
    expect(byAggregate(stream)).to.deep.equal(byAggregate(inserted));
    const seqs = await fx.pool.query<{ n: number }>(
      'select count(*)::int as n from jetbox_outbox where stream_seq is not null and published_at is not null',
    );
    expect(seqs.rows[0]!.n).to.equal(500);
  });

  it('is woken by the commit (in-process) and by NOTIFY (other processes), not by the poll', async () => {
    const inProcess = relay({ ...NO_POLL });
    await inProcess.start();
    const em = fx.orm.em.fork();
    const id = '0190a8a6-6f4e-7c4b-9d7e-2f4a1b3c5d6e';
    const t0 = Date.now();
    await em.transactional((tem) => {
      fx.outbox.add(tem, {
        type: 'com.jetbox.match.cancelled',
        aggregateType: 'match',
        aggregateId: id,
        data: { matchId: id, userIds: [], reason: { code: 'other' } },
      });
    });
    await waitFor('in-process wake-up', async () => (await fx.streamCount()) === 1, 5000);
    expect(Date.now() - t0).to.be.lessThan(2000);
    await inProcess.stop();

    const other = relay({ ...NO_POLL, outbox: undefined });
    await other.start();
    await new Promise((r) => setTimeout(r, 300)); // let it take its partitions and go idle
    const t1 = Date.now();
    await fx.insertEvents(1, 1);
    await waitFor('NOTIFY wake-up', async () => (await fx.streamCount()) === 2, 5000);
    expect(Date.now() - t1).to.be.lessThan(2000);
  });

  it('publishes a row whose transaction commits after later rows were published, without waiting for the poll', async () => {
    const r = relay({ ...NO_POLL, outbox: undefined });
    await r.start();
    await new Promise((res) => setTimeout(res, 300)); // partitions taken, idle
    // The open transaction takes the lower seq; rows committed meanwhile get higher ones and are
    // published first, so the relay's claim floor must not pass the open transaction's row.
    const open = await fx.pool.connect();
    try {
      await open.query('begin');
      await open.query(
        `insert into jetbox_outbox (id, aggregate_type, aggregate_id, partition, type, source, dataschema, nats_subject, data)
         values ('0190a8a6-6f4e-7c4b-9d7e-000000000001', 'match', 'late', 0, 'com.jetbox.match.created', '/relay-test',
                 'urn:jetbox:schema:com.jetbox.match.created:v1', $1 || '.match.created.0', '{}')`,
        [fx.prefix],
      );
      for (let i = 1; i <= 3; i++) {
        await fx.insertEvents(2, 2);
        await waitFor(`${2 * i} later rows`, async () => (await fx.streamCount()) === 2 * i, 5000);
      }
      const t0 = Date.now();
      await open.query('commit');
      await waitFor('the late row', async () => (await fx.streamCount()) === 7, 5000);
      expect(Date.now() - t0).to.be.lessThan(2000);
    } finally {
      open.release();
    }
  });

  it("publishes a late row whose insert was its transaction's first write, without waiting for the poll", async () => {
    const r = relay({ ...NO_POLL, outbox: undefined });
    await r.start();
    await new Promise((res) => setTimeout(res, 300)); // partitions taken, idle
    // A BEFORE trigger runs after the row's defaults were computed and before the heap insert
    // that gives a transaction its first xid: it holds the insert in the gap where its seq is
    // drawn and, with a plain identity, no snapshot yet knows its transaction.
    await fx.pool.query(`create function hold_first_write() returns trigger language plpgsql as $$
      begin if new.aggregate_id = 'first-write' then perform pg_sleep(2); end if; return new; end $$`);
    await fx.pool.query(`create trigger hold_first_write before insert on jetbox_outbox
      for each row execute function hold_first_write()`);
    // nextval() takes an xid only when it WAL-logs the sequence (every 32 values): not the first.
    await fx.insertEvents(1, 1);
    await waitFor('the first row', async () => (await fx.streamCount()) === 1, 5000);
    const open = await fx.pool.connect();
    try {
      await open.query('begin');
      const inserting = open.query(
        `insert into jetbox_outbox (id, aggregate_type, aggregate_id, partition, type, source, dataschema, nats_subject, data)
         values ('0190a8a6-6f4e-7c4b-9d7e-000000000002', 'match', 'first-write', 0, 'com.jetbox.match.created', '/relay-test',
                 'urn:jetbox:schema:com.jetbox.match.created:v1', $1 || '.match.created.0', '{}')`,
        [fx.prefix],
      );
      await new Promise((res) => setTimeout(res, 200)); // the insert is in the trigger
      for (let i = 1; i <= 3; i++) {
        await fx.insertEvents(2, 2);
        await waitFor(
          `${2 * i} later rows`,
          async () => (await fx.streamCount()) === 2 * i + 1,
          5000,
        );
      }
      await inserting;
      const t0 = Date.now();
      await open.query('commit');
      await waitFor('the late row', async () => (await fx.streamCount()) === 8, 5000);
      expect(Date.now() - t0).to.be.lessThan(2000);
    } finally {
      open.release();
    }
  });

  it('publishes a late row whose transaction got its xid after the snapshot that saw a later row, without waiting for the poll', async () => {
    const r = relay({ ...NO_POLL, outbox: undefined });
    await r.start();
    await new Promise((res) => setTimeout(res, 300)); // partitions taken, idle
    const insertSql = `insert into jetbox_outbox (id, aggregate_type, aggregate_id, partition, type, source, dataschema, nats_subject, data)
      values (gen_random_uuid(), 'match', $1, 0, 'com.jetbox.match.created', '/relay-test',
              'urn:jetbox:schema:com.jetbox.match.created:v1', $2 || '.match.created.0', '{}')`;
    const early = await fx.pool.connect(); // the older xid, the later seq, committed first
    const late = await fx.pool.connect(); // the newer xid, the earlier seq, committed last
    try {
      await early.query('begin');
      await early.query('select pg_current_xact_id()');
      await late.query('begin');
      await late.query('select pg_current_xact_id()');
      await late.query(insertSql, ['late-xid', fx.prefix]);
      await early.query(insertSql, ['early-xid', fx.prefix]);
      // No transaction with a higher xid has ended: the next snapshot's xmax is at most the late
      // transaction's xid, so the snapshot does not list it as running although it is.
      await early.query('commit');
      await waitFor('the early row', async () => (await fx.streamCount()) === 1, 5000);
      for (let i = 1; i <= 3; i++) {
        await fx.insertEvents(1, 1);
        await waitFor(`later row ${i}`, async () => (await fx.streamCount()) === 1 + i, 5000);
      }
      const t0 = Date.now();
      await late.query('commit');
      await waitFor('the late row', async () => (await fx.streamCount()) === 5, 5000);
      expect(Date.now() - t0).to.be.lessThan(2000);
    } finally {
      early.release();
      late.release();
    }
  });

  it("publishes an aggregate's events committed one by one while earlier ones are in flight, in order, without waiting for the poll", async () => {
    const r = relay({ ...NO_POLL, outbox: undefined });
    await r.start();
    await new Promise((res) => setTimeout(res, 300)); // partitions taken, idle
    const aggregate = '0190a8a6-6f4e-7c4b-9d7e-00000000000a';
    const ids = Array.from(
      { length: 30 },
      (_, i) => `0190a8a6-6f4e-7c4b-9d7e-1000000000${String(i).padStart(2, '0')}`,
    );
    const t0 = Date.now();
    for (const id of ids) {
      await fx.pool.query(
        `insert into jetbox_outbox (id, aggregate_type, aggregate_id, partition, type, source, dataschema, nats_subject, data)
         values ($1, 'match', $2, 0, 'com.jetbox.match.created', '/relay-test',
                 'urn:jetbox:schema:com.jetbox.match.created:v1', $3 || '.match.created.0', '{}')`,
        [id, aggregate, fx.prefix],
      );
    }
    await waitFor('30 events', async () => (await fx.streamCount()) === 30, 5000);
    expect(Date.now() - t0).to.be.lessThan(3000);
    expect((await fx.readStream()).map((m) => m.id)).to.deep.equal(ids);
  });

  it('drains a backlog of many events per aggregate without waiting for the poll between rounds', async () => {
    // 40 rounds of one event per aggregate: each round's rows become claimable only once the
    // round before is marked, often while a claim runs (whose snapshot still shows them held).
    const inserted = await fx.insertEvents(4000, 100);
    const r = relay({ ...NO_POLL, outbox: undefined, batchSize: 100 });
    await r.start();
    await waitFor('4000 rows marked', () => fx.allPublished(), 30_000);
    const stream = await fx.readStream();
    expect(stream).to.have.length(4000);
    expect(byAggregate(stream)).to.deep.equal(byAggregate(inserted));
  });

  it('publishes each row of a steady stream of commits once: no claim republishes a row marked while it ran', async () => {
    const r = relay({ outbox: undefined });
    await r.start();
    // One row per transaction from 4 writers: claims keep running while earlier rows are marked.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 150; i++) await fx.insertEvents(1, 1);
      }),
    );
    await waitFor('600 rows marked', async () =>
      (await statuses()).every((s) => s.status === 'published'),
    );
    expect(await fx.streamCount()).to.equal(600);
    const duplicates = (await r.metrics.duplicates.get()).values[0]?.value ?? 0;
    expect(duplicates, 'rows published again').to.equal(0);
  });

  it('never lets event n+1 of an aggregate overtake a failing event n', async () => {
    const inserted = await fx.insertEvents(6, 2); // aggregate A: 0, 2, 4; B: 1, 3, 5
    const [a0, , a2] = inserted;
    // Break a2 (the second event of A): its subject has no stream, so its publish fails.
    await fx.pool.query(
      `update jetbox_outbox set nats_subject = 'nostream.' || nats_subject where id = $1`,
      [a2!.id],
    );
    const failures: string[] = [];
    const r = relay({
      backoffBaseMs: 300,
      backoffMaxMs: 300,
      publishTimeoutMs: 500,
      allowUnsafeRetryHorizon: false,
    });
    r.events.on('relay:publishFailed', (f) => failures.push(f.id));
    await r.start();
    await waitFor('a failure of a2', () => failures.length > 0);
    await new Promise((res) => setTimeout(res, 700));
    let stream = await fx.readStream();
    const aIds = stream.filter((m) => m.aggregateId === a0!.aggregateId).map((m) => m.id);
    expect(aIds).to.deep.equal([a0!.id]); // a4 waits behind a2
    expect(stream.filter((m) => m.aggregateId !== a0!.aggregateId)).to.have.length(3); // B unaffected
    const blocked = await fx.pool.query<{ attempts: number; last_error: string }>(
      'select attempts, last_error from jetbox_outbox where id = $1',
      [a2!.id],
    );
    expect(blocked.rows[0]!.attempts).to.be.greaterThan(0);
    expect(blocked.rows[0]!.last_error).to.be.a('string').and.not.empty;
    // Repair it: the retry publishes a2, then a4, in order.
    await fx.pool.query(
      `update jetbox_outbox set nats_subject = substr(nats_subject, 10) where id = $1`,
      [a2!.id],
    );
    await waitFor('all six', async () => (await fx.streamCount()) === 6);
    stream = await fx.readStream();
    expect(byAggregate(stream)).to.deep.equal(byAggregate(inserted));
  });

  it('marks a row failed after maxAttempts, keeps it, and re-queues it on request', async () => {
    const [only] = await fx.insertEvents(1, 1);
    await fx.pool.query(`update jetbox_outbox set nats_subject = 'nostream.x' where id = $1`, [
      only!.id,
    ]);
    const r = relay({ maxAttempts: 2, backoffBaseMs: 50, backoffMaxMs: 50, publishTimeoutMs: 300 });
    await r.start();
    await waitFor('failed row', async () => (await statuses()).some((s) => s.status === 'failed'));
    const row = await fx.pool.query<{ attempts: number; last_error: string }>(
      'select attempts, last_error from jetbox_outbox where id = $1',
      [only!.id],
    );
    expect(row.rows[0]!.attempts).to.equal(2);
    expect(await fx.streamCount()).to.equal(0);
    await fx.pool.query(
      `update jetbox_outbox set nats_subject = $2 || '.match.created.0' where id = $1`,
      [only!.id, fx.prefix],
    );
    expect(await requeueFailed(fx.pool, {})).to.equal(1);
    await waitFor('published after requeue', async () => (await fx.streamCount()) === 1);
  });

  it("holds an aggregate's later rows behind its failed row, publishes the rest, and all of them in order once re-queued", async () => {
    const inserted = await fx.insertEvents(12, 3); // A: 0, 3, 6, 9; B: 1, 4, …; C: 2, 5, …
    const a = inserted[0]!.aggregateId;
    // A's second event cannot be published (no stream takes its subject) and fails for good.
    const broken = inserted[3]!;
    await fx.pool.query(
      `update jetbox_outbox set nats_subject = 'nostream.' || nats_subject where id = $1`,
      [broken.id],
    );
    const r = relay({ maxAttempts: 1, publishTimeoutMs: 300 });
    await r.start();
    await waitFor('the row failed', async () =>
      (await statuses()).some((s) => s.status === 'failed'),
    );
    // Sweeps (every 200 ms) come and go: A's later rows stay behind the failed one.
    await new Promise((res) => setTimeout(res, 700));
    const held = await fx.pool.query<{ id: string; status: string }>(
      `select id, status from jetbox_outbox where aggregate_id = $1 order by seq`,
      [a],
    );
    expect(held.rows.map((row) => row.status)).to.deep.equal([
      'published',
      'failed',
      'pending',
      'pending',
    ]);
    let stream = await fx.readStream();
    expect(stream.filter((m) => m.aggregateId !== a)).to.have.length(8); // B and C unaffected
    await fx.pool.query(
      `update jetbox_outbox set nats_subject = substr(nats_subject, 10) where id = $1`,
      [broken.id],
    );
    expect(await requeueFailed(fx.pool, { ids: [broken.id] })).to.equal(1);
    await waitFor('all twelve', async () => (await fx.streamCount()) === 12);
    stream = await fx.readStream();
    expect(byAggregate(stream)).to.deep.equal(byAggregate(inserted));
  });

  it("holds an aggregate's rows behind its earlier row in a partition the relay does not own", async () => {
    // As after a change of the partition count: the aggregate's older row sits in a partition
    // no relay of this count owns, and its newer rows must not overtake it.
    const inserted = await fx.insertEvents(6, 2); // A: 0, 2, 4; B: 1, 3, 5
    const a = inserted[0]!.aggregateId;
    await fx.pool.query(`update jetbox_outbox set partition = 99 where id = $1`, [inserted[0]!.id]);
    const r = relay();
    await r.start();
    await waitFor('B published', async () => (await fx.streamCount()) === 3);
    await new Promise((res) => setTimeout(res, 700)); // a few sweeps
    expect((await fx.readStream()).filter((m) => m.aggregateId === a)).to.deep.equal([]);
    // Back in its partition, the older row goes first.
    await fx.pool.query(
      `update jetbox_outbox set partition = (select partition from jetbox_outbox where id = $2) where id = $1`,
      [inserted[0]!.id, inserted[2]!.id],
    );
    await waitFor('all six', async () => (await fx.streamCount()) === 6);
    expect(byAggregate(await fx.readStream())).to.deep.equal(byAggregate(inserted));
  });

  it("holds an aggregate's rows behind its earlier row that is not due yet (a writer's clock ahead)", async () => {
    const inserted = await fx.insertEvents(6, 2); // A: 0, 2, 4; B: 1, 3, 5
    const a = inserted[0]!.aggregateId;
    // Never attempted, but due only in 1.5 s, as a writer whose clock runs ahead records it.
    await fx.pool.query(
      `update jetbox_outbox set next_attempt_at = now() + interval '1500 milliseconds' where id = $1`,
      [inserted[0]!.id],
    );
    const r = relay();
    await r.start();
    await waitFor('B published', async () => (await fx.streamCount()) >= 3);
    expect((await fx.readStream()).filter((m) => m.aggregateId === a)).to.deep.equal([]);
    await waitFor('all six', async () => (await fx.streamCount()) === 6);
    expect(byAggregate(await fx.readStream())).to.deep.equal(byAggregate(inserted));
  });

  it('goes on publishing and marking failures when listeners throw, and reports it', async () => {
    const inserted = await fx.insertEvents(300, 30);
    // The last event of one aggregate cannot be published: its batch has a failure to mark too.
    const broken = inserted[299]!;
    await fx.pool.query(
      `update jetbox_outbox set nats_subject = 'nostream.' || nats_subject where id = $1`,
      [broken.id],
    );
    const r = relay({ batchSize: 50, maxAttempts: 1, publishTimeoutMs: 300 });
    const errors: string[] = [];
    r.events.on('relay:error', (e) => errors.push(`${e.phase}: ${e.error.message}`));
    for (const name of ['relay:published', 'relay:publishFailed'] as const)
      r.events.on(name, () => {
        throw new Error(`${name} listener broke`);
      });
    await r.start();
    await waitFor('299 published, 1 failed', async () => {
      const counts = Object.fromEntries((await statuses()).map((st) => [st.status, st.n]));
      return counts.published === 299 && counts.failed === 1;
    });
    await r.stop();
    expect(await fx.streamCount()).to.equal(299);
    const published = inserted.filter((e) => e.id !== broken.id);
    expect(byAggregate(await fx.readStream())).to.deep.equal(byAggregate(published));
    expect(errors).to.include('listener: relay:published listener broke');
    expect(errors).to.include('listener: relay:publishFailed listener broke');
  });

  it('shares one outbox between two relays: each event once, order intact, partitions split', async () => {
    const inserted = await fx.insertEvents(3000, 60);
    const a = relay({ batchSize: 200 });
    const b = relay({ batchSize: 200 });
    await Promise.all([a.start(), b.start()]);
    await waitFor('3000 messages', async () => (await fx.streamCount()) >= 3000, 40_000);
    await waitFor('all marked', async () =>
      (await statuses()).every((s) => s.status === 'published'),
    );
    const stream = await fx.readStream();
    expect(stream).to.have.length(3000);
    expect(byAggregate(stream)).to.deep.equal(byAggregate(inserted));
    const owned = [...a.partitions, ...b.partitions];
    expect(new Set(owned).size).to.equal(owned.length);
    expect(a.partitions.length).to.be.greaterThan(0);
    expect(b.partitions.length).to.be.greaterThan(0);
  });

  it('reconnects after its PostgreSQL connection is terminated mid-drain and loses nothing', async () => {
    const inserted = await fx.insertEvents(5000, 100);
    const r = relay({ batchSize: 100 });
    const errors: string[] = [];
    r.events.on('relay:error', (e) => errors.push(e.phase));
    await r.start();
    await waitFor('drain under way', async () => (await fx.streamCount()) > 300);
    const killed = await fx.pool.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'jetbox-relay' and datname = current_database()`,
    );
    expect(killed.rowCount).to.be.greaterThan(0);
    await waitFor(
      'all published',
      async () => (await statuses()).every((s) => s.status === 'published'),
      40_000,
    );
    expect(errors.length).to.be.greaterThan(0);
    const stream = await fx.readStream();
    expect(new Set(stream.map((m) => m.id)).size).to.equal(5000);
    expect(stream).to.have.length(5000);
    expect(byAggregate(stream)).to.deep.equal(byAggregate(inserted));
  });

  it('retries a row due for it within a poll interval, also while a long backlog drains', async () => {
    const [first] = await fx.insertEvents(1, 1);
    // Its first publish fails (no stream for the subject); repaired at once, its retry succeeds.
    await fx.pool.query(
      `update jetbox_outbox set nats_subject = 'nostream.' || nats_subject where id = $1`,
      [first!.id],
    );
    await fx.insertEvents(5000, 5000);
    const r = relay({ batchSize: 5, backoffBaseMs: 100, backoffMaxMs: 100, pollIntervalMs: 200 });
    r.events.on('relay:publishFailed', () => {
      void fx.pool.query(
        `update jetbox_outbox set nats_subject = substr(nats_subject, 10) where id = $1 and nats_subject like 'nostream.%'`,
        [first!.id],
      );
    });
    await r.start();
    await waitFor('all published', () => fx.allPublished(), 60_000);
    const { rows } = await fx.pool.query<{ stream_seq: string }>(
      'select stream_seq from jetbox_outbox where id = $1',
      [first!.id],
    );
    // Published while the drain (1,000 full claims) went on, not after its last batch.
    expect(Number(rows[0]!.stream_seq)).to.be.below(4000);
  });

  it('refuses a retry gap longer than the duplicate window, and says why a safe one is safe', async () => {
    const unsafe = relay({ backoffMaxMs: 200_000 });
    const err = await unsafe.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(isJetboxError(err, 'UNSAFE_RETRY_HORIZON'), String(err)).to.equal(true);
    expect(String((err as Error).message)).to.match(
      /longest gap between two publishes of one row is 250200 ms .* drops duplicates for 120000 ms/,
    );
    const safe = relay();
    let said = '';
    safe.events.on('relay:started', (s) => (said = s.safety));
    await safe.start();
    expect(said).to.match(/^safe: the longest gap .* is 82200 ms/);
  });

  it('deletes published rows after the retention period, in the background', async () => {
    await fx.insertEvents(50, 5);
    const deleted: number[] = [];
    const r = relay({ retentionMs: 1, retentionIntervalMs: 50 });
    r.events.on('relay:retentionDeleted', (d) => deleted.push(d.count));
    await r.start();
    await waitFor('published rows removed', async () => {
      const { rows } = await fx.pool.query<{ n: number }>(
        'select count(*)::int as n from jetbox_outbox',
      );
      return rows[0]!.n === 0;
    });
    expect(await fx.streamCount()).to.equal(50);
    expect(deleted.reduce((a, b) => a + b, 0)).to.equal(50);
  });

  it('rejects bad options naming the property', () => {
    expect(() => createRelay({ databaseUrl: fx.db.url, nats: nc, batchSize: 0 })).to.throw(
      /relay.batchSize/,
    );
    expect(() => createRelay({ databaseUrl: 'mysql://x', nats: nc })).to.throw(/relay.databaseUrl/);
    expect(() =>
      createRelay({ databaseUrl: fx.db.url, nats: nc, outbox: fx.outbox, partitions: 3 }),
    ).to.throw(/relay.partitions/);
  });

  it('stopped while starting, waits for the start, stops cleanly and can run again', async () => {
    const r = relay();
    const starting = r.start();
    await r.stop();
    await starting;
    const left = await fx.pool.query(
      `select 1 from pg_stat_activity where application_name = 'jetbox-relay' and datname = current_database()`,
    );
    expect(left.rowCount).to.equal(0);
    await fx.insertEvents(20, 5);
    await r.start();
    await waitFor('all published', () => fx.allPublished());
    expect(await fx.streamCount()).to.equal(20);
  });

  it('stops idempotently and leaves no connection behind', async () => {
    const r = relay();
    await r.start();
    await r.start();
    await r.stop();
    await r.stop();
    const left = await fx.pool.query(
      `select 1 from pg_stat_activity where application_name = 'jetbox-relay' and datname = current_database()`,
    );
    expect(left.rowCount).to.equal(0);
  });
});
