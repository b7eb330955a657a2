import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { ensureConsumer } from '../src/consumer/ensureConsumer.js';
import { resolveConsumerOptions } from '../src/consumer/consumerOptions.js';
import { startNatsServer, type NatsServerHandle } from '../src/testing/index.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

describe('jetbox CLI: subject prefixes and consumers apply', function () {
  this.timeout(60_000);
  let server: NatsServerHandle;
  let nc: NatsConnection;

  const jetbox = async (env: Record<string, string>, ...args: string[]) => {
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', cli, ...args], {
        env: {
          ...process.env,
          NATS_URL: server.url,
          JETBOX_STREAM: 'APPLY_EVENTS',
          JETBOX_DLQ_STREAM: 'APPLY_DLQ',
          ...env,
        },
      });
      return { code: 0, stdout, stderr: '' };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  after(async () => {
    await nc?.close();
    await server?.dispose();
  });

  it('streams apply uses JETBOX_SUBJECT_PREFIX and JETBOX_DLQ_SUBJECT_PREFIX', async () => {
    const env = { JETBOX_SUBJECT_PREFIX: 'shop', JETBOX_DLQ_SUBJECT_PREFIX: 'shop_dlq' };
    const r = await jetbox(env, 'streams', 'apply');
    expect(r.code, r.stderr).to.equal(0);
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info('APPLY_EVENTS')).config.subjects).to.deep.equal(['shop.>']);
    expect((await jsm.streams.info('APPLY_DLQ')).config.subjects).to.deep.equal(['shop_dlq.>']);
    const status = await jetbox(env, 'streams', 'status');
    expect(status.code, status.stdout).to.equal(0);
  });

  it('consumers apply declares a durable the service then finds unchanged', async () => {
    const env = { JETBOX_SUBJECT_PREFIX: 'shop' };
    const first = await jetbox(
      env,
      'consumers',
      'apply',
      '--name',
      'notifier',
      '--subject',
      'shop.match.>',
      '--json',
    );
    expect(first.code, first.stderr).to.equal(0);
    expect(JSON.parse(first.stdout)).to.deep.equal({
      stream: 'APPLY_EVENTS',
      name: 'notifier',
      action: 'created',
    });
    const again = await jetbox(
      env,
      'consumers',
      'apply',
      '--name',
      'notifier',
      '--subject',
      'shop.match.>',
    );
    expect(again.stdout.trim()).to.equal('APPLY_EVENTS/notifier: unchanged');

    // What createConsumer({ name: 'notifier', subjects: 'shop.match.>' }) declares with its defaults.
    const options = resolveConsumerOptions({
      orm: {} as never,
      nats: nc,
      name: 'notifier',
      stream: 'APPLY_EVENTS',
      subjects: 'shop.match.>',
      handlers: {},
    });
    const service = await ensureConsumer(await jetstreamManager(nc), 'APPLY_EVENTS', options);
    expect(service.action).to.equal('unchanged');

    const changed = await jetbox(
      env,
      'consumers',
      'apply',
      '--name',
      'notifier',
      '--subject',
      'shop.match.>',
      '--ack-wait',
      '5000',
    );
    expect(changed.stdout.trim()).to.equal('APPLY_EVENTS/notifier: updated');
    const ls = await jetbox(env, 'consumers', 'ls', '--json');
    expect(
      (JSON.parse(ls.stdout) as { name: string; filter: string }[]).map((c) => [c.name, c.filter]),
    ).to.deep.equal([['notifier', 'shop.match.>']]);
  });

  it('bad configuration exits 2 naming the variable or flag', async () => {
    const partitions = await jetbox({ JETBOX_PARTITIONS: 'many' }, 'streams', 'status');
    expect(partitions.code).to.equal(2);
    expect(partitions.stderr).to.contain(
      'JETBOX_PARTITIONS: must be an integer from 1 to 1024, got "many"',
    );
    const name = await jetbox({}, 'consumers', 'apply', '--name', 'a.b');
    expect(name.code).to.equal(2);
    expect(name.stderr).to.contain('--name: must be letters, digits, _ or -');
    const ackWait = await jetbox({}, 'consumers', 'apply', '--name', 'n', '--ack-wait', '50');
    expect(ackWait.code).to.equal(2);
    expect(ackWait.stderr).to.contain('--ack-wait: must be at least 100 ms, got 50');
    const missing = await jetbox({}, 'consumers', 'apply');
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.contain("required option '--name <durable>' not specified");
  });
});
