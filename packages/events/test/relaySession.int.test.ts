import { expect } from 'chai';
import pg from 'pg';
import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { RELAY_SESSION_OPTIONS, relaySessionConfig } from '../src/relay/relaySession.js';
import { claimBatch, type Marks } from '../src/relay/outboxSql.js';
import { jetboxOrmOptions, migrate } from '../src/orm/jetboxOrmOptions.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js';

/** The settings a session opened with `config` really has. */
async function settingsOf(config: pg.ClientConfig, names: string[]): Promise<string[]> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const values: string[] = [];
    for (const name of names) {
      const { rows } = await client.query<Record<string, string>>(`show ${name}`);
      values.push(Object.values(rows[0]!)[0]!);
    }
    return values;
  } finally {
    await client.end();
  }
}

describe('relay sessions', () => {
  let db: TestDatabase;
  const savedPgOptions = process.env.PGOPTIONS;

  before(async () => {
    db = await createTestDatabase('jetbox_relay_session');
  });

  after(async () => {
    await db.drop();
  });

  afterEach(() => {
    if (savedPgOptions === undefined) delete process.env.PGOPTIONS;
    else process.env.PGOPTIONS = savedPgOptions;
  });

  const withOptions = (options: string) => {
    const url = new URL(db.url);
    url.searchParams.set('options', options);
    return url.toString();
  };

  it('run with the relay session options and the jetbox-relay application name', async () => {
    delete process.env.PGOPTIONS;
    const config = relaySessionConfig(db.url);
    expect(config.options).to.equal(RELAY_SESSION_OPTIONS);
    expect(
      await settingsOf(config, [
        'enable_seqscan',
        'synchronous_commit',
        'plan_cache_mode',
        'jit',
        'application_name',
      ]),
    ).to.deep.equal(['off', 'off', 'force_generic_plan', 'off', 'jetbox-relay']);
  });

  it('plan the claim once, not again at every claim', async () => {
    // A small outbox, each claim marking what the one before it claimed: the shape in which
    // PostgreSQL's own choice was a custom plan for every claim (0.7 ms of planning each).
    delete process.env.PGOPTIONS;
    const orm = await MikroORM.init(defineConfig({ ...jetboxOrmOptions(), clientUrl: db.url }));
    const relay = new pg.Client(relaySessionConfig(db.url));
    try {
      await migrate(orm);
      const insert = (count: number, status: string) =>
        relay.query(
          `insert into jetbox_outbox (id, aggregate_type, aggregate_id, partition, type, source, dataschema, nats_subject, data, status)
           select gen_random_uuid(), 'match', gen_random_uuid()::text, 0, 'com.jetbox.match.created', '/t', 'urn:x', 'ev.0', '{}', $2
           from generate_series(1, $1)`,
          [count, status],
        );
      await relay.connect();
      await insert(2000, 'published');
      await relay.query('vacuum analyze jetbox_outbox');
      let marks: Marks = { ids: [], streamSeqs: [] };
      let cursor = '0';
      for (let i = 0; i < 8; i++) {
        await insert(1, 'pending');
        const claim = await claimBatch(relay, [0], 100, cursor, marks);
        expect(claim.rows).to.have.length(1);
        marks = { ids: [claim.rows[0]!.id], streamSeqs: [i + 1] };
        cursor = claim.rows[0]!.seq;
      }
      const { rows } = await relay.query<{ generic_plans: string; custom_plans: string }>(
        `select generic_plans, custom_plans from pg_prepared_statements where name = 'jetbox_claim'`,
      );
      expect(rows).to.deep.equal([{ generic_plans: '8', custom_plans: '0' }]);
    } finally {
      await relay.end();
      await orm.close(true);
    }
  });

  it("keep the database URL's own options beside the relay's, which they may override", async () => {
    const url = withOptions('-c statement_timeout=4321 -c synchronous_commit=local');
    expect(
      await settingsOf(relaySessionConfig(url), [
        'statement_timeout',
        'enable_seqscan',
        'synchronous_commit',
      ]),
    ).to.deep.equal(['4321ms', 'off', 'local']);
  });

  it('keep PGOPTIONS when the URL has no options', async () => {
    process.env.PGOPTIONS = '-c lock_timeout=1234';
    expect(
      await settingsOf(relaySessionConfig(db.url), ['lock_timeout', 'enable_seqscan']),
    ).to.deep.equal(['1234ms', 'off']);
  });

  it('keep the rest of the URL: user, database and other parameters', async () => {
    const url = new URL(withOptions('-c work_mem=8MB'));
    url.searchParams.set('application_name', 'orders');
    const config = relaySessionConfig(url.toString());
    expect(config.database).to.equal(db.name);
    expect(
      await settingsOf(config, ['work_mem', 'application_name', 'enable_seqscan']),
    ).to.deep.equal(['8MB', 'jetbox-relay', 'off']);
  });
});
