import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  createTestDatabase,
  startNatsServer,
  type NatsServerHandle,
  type TestDatabase,
} from '../src/testing/index.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

describe('jetbox CLI', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let server: NatsServerHandle;

  const jetbox = async (...args: string[]) => {
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', cli, ...args], {
        env: {
          ...process.env,
          DATABASE_URL: db.url,
          NATS_URL: server.url,
          JETBOX_STREAM: 'CLI_EVENTS',
          JETBOX_DLQ_STREAM: 'CLI_DLQ',
        },
      });
      return { code: 0, stdout, stderr: '' };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  before(async () => {
    db = await createTestDatabase('jetbox_cli');
    server = await startNatsServer();
  });
  after(async () => {
    await server?.dispose();
    await db?.drop();
  });

  it('migrate applies jetbox tables once', async () => {
    const first = await jetbox('migrate', '--json');
    expect(first.code, first.stderr).to.equal(0);
    expect(JSON.parse(first.stdout)).to.deep.equal({
      applied: [
        'Migration20261121000000JetboxTables',
        'Migration20261121120000OutboxSeqAfterXid',
        'Migration20261121140000OutboxWaitingIndex',
      ],
    });
    expect((await jetbox('migrate')).stdout.trim()).to.equal('up to date');
  });

  it('streams apply creates the streams, status reports them in sync, and drift exits 1', async () => {
    const applied = await jetbox('streams', 'apply', '--json');
    expect(applied.code, applied.stderr).to.equal(0);
    expect(
      (JSON.parse(applied.stdout) as { name: string; action: string }[]).map((r) => [
        r.name,
        r.action,
      ]),
    ).to.deep.equal([
      ['CLI_EVENTS', 'created'],
      ['CLI_DLQ', 'created'],
    ]);
    const status = await jetbox('streams', 'status');
    expect(status.code).to.equal(0);
    expect(status.stdout).to.match(/CLI_EVENTS: in sync/);
    expect((await jetbox('streams', 'apply')).stdout).to.match(/CLI_EVENTS: unchanged/);
  });

  it('consumers ls shows each durable with its lag', async () => {
    const empty = await jetbox('consumers', 'ls');
    expect(empty.stdout.trim()).to.equal('no consumers on CLI_EVENTS');
    const nc = await connect({ servers: server.url, noAsyncTraces: true });
    try {
      const js = jetstream(nc);
      for (let i = 0; i < 3; i++) await js.publish('events.match.created.0', `{"n":${i}}`);
      const jsm = await jetstreamManager(nc);
      await jsm.consumers.add('CLI_EVENTS', {
        durable_name: 'notifier',
        ack_policy: AckPolicy.Explicit,
        filter_subject: 'events.match.>',
      });
    } finally {
      await nc.close();
    }
    const ls = await jetbox('consumers', 'ls', '--json');
    expect(ls.code, ls.stderr).to.equal(0);
    expect(JSON.parse(ls.stdout)).to.deep.equal([
      {
        name: 'notifier',
        filter: 'events.match.>',
        pending: 3,
        ackPending: 0,
        redelivered: 0,
        waiting: 0,
      },
    ]);
  });

  it('outbox status and retry-failed report and repair failed rows', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(
        `insert into jetbox_outbox (id, aggregate_type, aggregate_id, partition, type, source, dataschema, nats_subject, data, status, attempts, last_error)
         values (gen_random_uuid(), 'match', 'a', 0, 'com.jetbox.match.created', '/t', 'urn:x', 'events.match.created.0', '{}', 'failed', 20, 'no stream')`,
      );
      const status = await jetbox('outbox', 'status', '--json');
      expect(JSON.parse(status.stdout)).to.include({ pending: 0, failed: 1 });
      const retried = await jetbox('outbox', 'retry-failed', '--type', 'com.jetbox.match.created');
      expect(retried.stdout.trim()).to.equal('requeued 1 failed row(s)');
      const { rows } = await client.query<{ status: string; attempts: number }>(
        'select status, attempts from jetbox_outbox',
      );
      expect(rows).to.deep.equal([{ status: 'pending', attempts: 0 }]);
    } finally {
      await client.end();
    }
  });

  it('exits 2 with a message on bad usage', async () => {
    const bad = await jetbox('relay', '--batch-size', 'lots');
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/--batch-size must be a positive integer/);
    expect((await jetbox('frobnicate')).code).to.equal(2);
  });
});
