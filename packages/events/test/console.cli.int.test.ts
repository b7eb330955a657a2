import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { testNatsUrl, waitFor } from '../src/testing/index.js';
import { createConsumerHarness, type ConsumerHarness } from './consumerHarness.js';
import { exited } from './support/spawnRelay.js';

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

describe('jetbox console CLI', function () {
  this.timeout(60_000);
  let h: ConsumerHarness;

  const start = (env: Record<string, string>, ...args: string[]) => {
    let output = '';
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'console', ...args], {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        DATABASE_URL: h.db.url,
        NATS_URL: testNatsUrl(),
        JETBOX_STREAM: h.stream,
        JETBOX_DLQ_STREAM: h.dlqStream,
        JETBOX_DLQ_SUBJECT_PREFIX: h.dlqPrefix,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    return { child, output: () => output };
  };

  before(async () => {
    h = await createConsumerHarness();
  });
  after(async () => h?.close());

  it('prints its URL, serves the configured streams and stops cleanly on SIGINT', async () => {
    const token = 'cli-test-token-0123456789';
    const { child, output } = start({ JETBOX_CONSOLE_TOKEN: token }, '--port', '0');
    try {
      let url = '';
      await waitFor(
        'the console URL',
        () => {
          url = /jetbox console: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output())?.[1] ?? '';
          return url !== '' || child.exitCode !== null;
        },
        30_000,
      );
      expect(url, output()).not.to.equal('');
      const meta = (await (await fetch(`${url}api/meta`)).json()) as Record<string, unknown>;
      expect(meta).to.include({ readOnly: false, stream: h.stream, dlqStream: h.dlqStream });
      expect((await fetch(`${url}api/outbox`)).status).to.equal(200);
      const redrive = await fetch(`${url}api/dlq/1/redrive`, { method: 'POST' });
      expect(redrive.status).to.equal(401);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited(child), output()).to.equal(0);
  });

  it('refuses a token too short to be safe, naming it', async () => {
    const { child, output } = start({ JETBOX_CONSOLE_TOKEN: 'short' }, '--port', '0');
    expect(await exited(child)).to.equal(2);
    expect(output()).to.match(/invalid option token: must be at least 16 characters/);
  });
});
