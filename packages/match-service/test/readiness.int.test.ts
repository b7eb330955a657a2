import { connectTestNats, createTestDatabase, type TestDatabase } from '@jetbox/events/testing';
import { MikroORM } from '@mikro-orm/postgresql';
import type { NatsConnection } from '@nats-io/transport-node';
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { createApp } from '../src/app.js';
import { listen, type Listening } from '@jetbox/service-kit';
import { createMatchOutbox } from '../src/matchOutbox.js';
import { matchOrmOptions, migrationsList } from '../src/ormOptions.js';

describe('match-service: /readyz reports what is missing', () => {
  let db: TestDatabase;
  let orm: MikroORM;
  let nats: NatsConnection;
  let server: Listening;

  before(async () => {
    db = await createTestDatabase('match_service_ready');
    // Deliberately not migrated.
    orm = await MikroORM.init(matchOrmOptions(db.url, createMatchOutbox()));
    nats = await connectTestNats();
    server = await listen(createApp({ orm, nats, registry: new Registry() }), 0, '127.0.0.1');
  });

  after(async () => {
    await server?.close(2000);
    await nats?.close();
    await orm?.close(true);
    await db?.drop();
  });

  const readyz = async () => {
    const res = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: (await res.json()) as { ready: boolean; checks: object } };
  };

  it('is 503 while migrations are pending, 200 once applied, 503 when NATS is gone', async () => {
    expect(await readyz()).to.deep.equal({
      status: 503,
      body: {
        ready: false,
        checks: { postgres: 'ok', nats: 'ok', migrations: `${migrationsList.length} pending` },
      },
    });
    await orm.getMigrator().up();
    expect((await readyz()).status).to.equal(200);
    await nats.close();
    expect(await readyz()).to.deep.equal({
      status: 503,
      body: {
        ready: false,
        checks: { postgres: 'ok', nats: 'connection closed', migrations: 'ok' },
      },
    });
    // Liveness does not depend on either.
    const health = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
    expect(health.status).to.equal(200);
  });
});
