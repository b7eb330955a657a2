import { expect } from 'chai';
import { EntitySchema, MikroORM, defineConfig, type EntityManager } from '@mikro-orm/postgresql';
import { AggregateRoot } from '../src/outbox/AggregateRoot.js';
import { createOutbox, type Outbox } from '../src/outbox/createOutbox.js';
import { jetboxOrmOptions, migrate } from '../src/orm/jetboxOrmOptions.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { isJetboxError } from '../src/errors.js';
import { jsonbTextBytes } from '../src/outbox/publishedSize.js';
import { v7 as uuidv7 } from 'uuid';

class Game extends AggregateRoot {
  id = uuidv7();
  status = 'active';
  userIds: [string, string] = [uuidv7(), uuidv7()];
  get aggregateType() {
    return 'match';
  }
  get aggregateId() {
    return this.id;
  }
  create() {
    this.recordEvent('com.jetbox.match.created', {
      matchId: this.id,
      userIds: this.userIds,
      region: 'eu',
    });
    return this;
  }
  cancel(note: string) {
    this.status = 'cancelled';
    this.recordEvent('com.jetbox.match.cancelled', {
      matchId: this.id,
      userIds: this.userIds,
      reason: { code: 'user_request', note },
    });
  }
  touch() {
    this.recordEvent('com.jetbox.match.cancelled', {
      matchId: this.id,
      userIds: [],
      reason: { code: 'other' },
    });
  }
}

const GameSchema = new EntitySchema<Pick<Game, 'id' | 'status' | 'userIds'>>({
  class: Game as never,
  tableName: 'game',
  properties: {
    id: { type: 'uuid', primary: true },
    status: { type: 'text' },
    userIds: { type: 'json' },
  },
});

describe('outbox: recording events with MikroORM', () => {
  let db: TestDatabase;
  let orm: MikroORM;
  let outbox: Outbox;
  let commits = 0;

  before(async () => {
    db = await createTestDatabase();
    outbox = createOutbox({ source: '/test', partitions: 4, maxEventBytes: 2000 });
    outbox.onCommit(() => commits++);
    const base = jetboxOrmOptions();
    orm = await MikroORM.init(
      defineConfig({
        ...base,
        clientUrl: db.url,
        entities: [...base.entities, GameSchema],
        subscribers: [outbox.subscriber],
      }),
    );
    await migrate(orm);
    await orm.em
      .getConnection()
      .execute(
        'create table game (id uuid primary key, status text not null, "user_ids" jsonb not null)',
      );
  });

  after(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  const rows = (em: EntityManager, id: string) =>
    em.getConnection().execute<
      {
        type: string;
        nats_subject: string;
        partition: number;
        data: unknown;
        status: string;
        dataschema: string;
        source: string;
      }[]
    >('select * from jetbox_outbox where aggregate_id = ? order by seq', [id]);

  /** Adds a match.created of `game` whose data carries `padding` extra bytes. */
  const addPadded = (em: EntityManager, game: Game, region: string, padding: number) =>
    outbox.add(em, {
      type: 'com.jetbox.match.created',
      aggregateType: 'match',
      aggregateId: game.id,
      data: {
        matchId: game.id,
        userIds: game.userIds,
        region,
        ...{ padding: 'p'.repeat(padding) },
      },
    });

  /** Flushes `em`, expecting EVENT_TOO_LARGE; returns its message. */
  const refusedAsTooLarge = async (em: EntityManager) => {
    const err = await em.flush().then(
      () => null,
      (e: unknown) => e,
    );
    expect(isJetboxError(err, 'EVENT_TOO_LARGE'), String(err)).to.equal(true);
    return String((err as Error).message);
  };

  it('writes the aggregate and its events in one flush, and signals the commit', async () => {
    const em = orm.em.fork();
    const before = commits;
    const game = new Game().create();
    em.persist(game);
    await em.flush();
    const out = await rows(em, game.id);
    expect(out).to.have.length(1);
    expect(out[0]).to.include({
      type: 'com.jetbox.match.created',
      status: 'pending',
      source: '/test',
    });
    expect(out[0]!.dataschema).to.equal('urn:jetbox:schema:com.jetbox.match.created:v1');
    expect(out[0]!.nats_subject).to.match(/^events\.match\.created\.[0-3]$/);
    expect(commits).to.be.greaterThan(before);
  });

  it('records an event from an aggregate whose columns did not change', async () => {
    const em = orm.em.fork();
    const game = new Game().create();
    await em.persist(game).flush();
    game.touch();
    await em.flush();
    expect((await rows(em, game.id)).map((r) => r.type)).to.deep.equal([
      'com.jetbox.match.created',
      'com.jetbox.match.cancelled',
    ]);
  });

  it('adds events without an aggregate through outbox.add, in the same transaction', async () => {
    const em = orm.em.fork();
    const id = uuidv7();
    await em.transactional((tem) => {
      outbox.add(tem, {
        type: 'com.jetbox.match.cancelled',
        aggregateType: 'match',
        aggregateId: id,
        data: { matchId: id, userIds: [], reason: { code: 'moderation' } },
      });
    });
    expect(await rows(em, id)).to.have.length(1);
  });

  it('rolls back the business row when the transaction fails after the flush', async () => {
    const em = orm.em.fork();
    const game = new Game().create();
    await em
      .transactional(async (tem) => {
        tem.persist(game);
        await tem.flush();
        throw new Error('boom');
      })
      .catch(() => undefined);
    expect(await rows(em, game.id)).to.have.length(0);
    expect(
      await em.getConnection().execute('select 1 from game where id = ?', [game.id]),
    ).to.have.length(0);
  });

  it('keeps the events of a flush that failed, so a retried flush writes them once', async () => {
    const conn = orm.em.getConnection();
    // The first insert into game fails, as a deadlock or a dropped connection would (a sequence
    // counts the attempts: unlike a table, it is not rolled back with them).
    await conn.execute('create sequence game_inserts');
    await conn.execute(`create function game_fail_once() returns trigger language plpgsql as $$
      begin
        if nextval('game_inserts') = 1 then raise exception 'transient'; end if;
        return new;
      end $$`);
    await conn.execute(
      'create trigger game_fail_once before insert on game for each row execute function game_fail_once()',
    );
    try {
      const em = orm.em.fork();
      const game = new Game().create();
      const id = uuidv7();
      em.persist(game);
      outbox.add(em, {
        type: 'com.jetbox.match.cancelled',
        aggregateType: 'match',
        aggregateId: game.id,
        data: { matchId: id, userIds: [], reason: { code: 'other' } },
      });
      const err = await em.flush().then(
        () => null,
        (e: unknown) => e,
      );
      expect(String(err)).to.match(/transient/);
      expect(await rows(em, game.id)).to.have.length(0);
      await em.flush();
      expect((await rows(em, game.id)).map((r) => r.type)).to.deep.equal([
        'com.jetbox.match.created',
        'com.jetbox.match.cancelled',
      ]);
      // Written once: a later flush has nothing left to write.
      game.status = 'done';
      await em.flush();
      expect(await rows(em, game.id)).to.have.length(2);
    } finally {
      await conn.execute('drop trigger game_fail_once on game');
      await conn.execute('drop function game_fail_once');
      await conn.execute('drop sequence game_inserts');
    }
  });

  it('writes committed events once even when a commit listener throws', async () => {
    let throwOnce = true;
    const unsubscribe = outbox.onCommit(() => {
      if (!throwOnce) return;
      throwOnce = false;
      throw new Error('listener bug');
    });
    try {
      const em = orm.em.fork();
      const game = new Game().create();
      em.persist(game);
      const err = await em.flush().then(
        () => null,
        (e: unknown) => e,
      );
      expect(String(err)).to.match(/listener bug/);
      expect(await rows(em, game.id)).to.have.length(1); // committed before the listener threw
      game.status = 'done';
      await em.flush();
      expect(await rows(em, game.id)).to.have.length(1);
    } finally {
      unsubscribe();
    }
  });

  it('measures event data as PostgreSQL prints it, which the relay publishes', async () => {
    const conn = orm.em.getConnection();
    const printed = async (value: unknown) =>
      (
        await conn.execute<{ n: number }[]>('select octet_length(?::jsonb::text) as n', [
          JSON.stringify(value),
        ])
      )[0]!.n;
    const exact = [
      { a: 1, b: [1, 2, { c: 'é', d: null }], e: 'x\n"' },
      [],
      {},
      [[1, 2], [3], {}],
      'text',
      12.5,
      { skipped: undefined, kept: true },
    ];
    for (const value of exact)
      expect(jsonbTextBytes(value), JSON.stringify(value)).to.equal(await printed(value));
    // Printed in full by jsonb; the estimate stays above it.
    for (const value of [{ big: 1e21 }, [1e-7]]) {
      expect(jsonbTextBytes(value)).to.be.at.least(await printed(value));
    }
  });

  it('refuses an event whose published message would pass the limit, though its JSON is under it', async () => {
    const em = orm.em.fork();
    const game = new Game();
    em.persist(game);
    // JSON.stringify: ≈ 1,800 bytes; with its CloudEvents headers the message passes 2,000.
    addPadded(em, game, 'eu', 1700);
    expect(await refusedAsTooLarge(em)).to.match(
      /would be a \d+-byte NATS message \(data \d+ bytes as PostgreSQL prints it, headers \d+\), above the limit of 2000/,
    );
    expect(await rows(em, game.id)).to.have.length(0);
  });

  it('refuses invalid data and unknown types at record time', () => {
    const game = new Game();
    expect(() =>
      (game as unknown as { recordEvent: (t: string, d: unknown) => void }).recordEvent(
        'com.jetbox.match.created',
        {
          matchId: 'x',
          userIds: [],
          region: '',
        },
      ),
    ).to.throw(/invalid data for com.jetbox.match.created v1: \/matchId must match format "uuid"/);
    expect(() =>
      (game as unknown as { recordEvent: (t: string, d: unknown) => void }).recordEvent(
        'com.jetbox.match.exploded',
        {},
      ),
    ).to.throw(/unknown CloudEvent type "com.jetbox.match.exploded"/);
  });

  it('refuses an oversized event at flush and commits nothing', async () => {
    const em = orm.em.fork();
    const game = new Game().create();
    game.cancel('x'.repeat(480));
    const big = new Game();
    em.persist([game, big]);
    for (let i = 0; i < 5; i++) big.cancel('y'.repeat(480));
    // each event is small; make one over the 2000-byte limit via outbox.add
    addPadded(em, game, 'r'.repeat(64), 3000);
    expect(await refusedAsTooLarge(em)).to.match(
      /above the limit of 2000 \(outbox.maxEventBytes\)/,
    );
    expect(await rows(em, game.id)).to.have.length(0);
    expect(
      await em.getConnection().execute('select 1 from game where id = ?', [game.id]),
    ).to.have.length(0);
  });
});
