import { expect } from 'chai';
import pg from 'pg';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  uniqueStreamName,
  type TestDatabase,
} from '../src/testing/index.js';

describe('test harness (real PostgreSQL and NATS)', () => {
  let db: TestDatabase;
  let nc: NatsConnection;
  const stream = uniqueStreamName();

  before(async () => {
    db = await createTestDatabase();
    nc = await connectTestNats();
  });

  after(async () => {
    await deleteStreams(nc, stream);
    await nc.close();
    await db.drop();
  });

  it('gives each test file its own database', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ db: string }>('select current_database() as db');
      expect(rows[0]?.db).to.equal(db.name);
      await client.query('create table t (id int primary key)');
      await client.query('insert into t values (1), (2)');
      const count = await client.query<{ n: string }>('select count(*)::text as n from t');
      expect(count.rows[0]?.n).to.equal('2');
    } finally {
      await client.end();
    }
  });

  it('publishes to and reads from a uniquely named JetStream stream', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
    const js = jetstream(nc);
    const ack = await js.publish(`${stream.toLowerCase()}.a`, 'hello', { msgID: 'one' });
    const dup = await js.publish(`${stream.toLowerCase()}.a`, 'hello', { msgID: 'one' });
    expect(ack.seq).to.equal(1);
    expect(dup.duplicate).to.equal(true);
    const msg = await jsm.streams.getMessage(stream, { seq: 1 });
    expect(msg?.string()).to.equal('hello');
  });

  it('drops the database on cleanup', async () => {
    const other = await createTestDatabase('jetbox_drop');
    await other.drop();
    await other.drop();
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const { rows } = await admin.query('select 1 from pg_database where datname = $1', [
        other.name,
      ]);
      expect(rows).to.have.length(0);
    } finally {
      await admin.end();
    }
  });
});
