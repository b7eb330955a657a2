import { expect } from 'chai';
import pg from 'pg';
import { RELAY_SESSION_OPTIONS, relaySessionConfig } from '../src/relay/relaySession.js';
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
      await settingsOf(config, ['enable_seqscan', 'synchronous_commit', 'application_name']),
    ).to.deep.equal(['off', 'off', 'jetbox-relay']);
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
