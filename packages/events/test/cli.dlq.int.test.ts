import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { jetstreamManager } from '@nats-io/jetstream';
import { v7 as uuidv7 } from 'uuid';
import { NonRetryableError } from '../src/consumer/NonRetryableError.js';
import { testNatsUrl } from '../src/testing/index.js';
import { createConsumerHarness, type ConsumerHarness } from './consumerHarness.js';
import { waitFor } from './support/relayFixture.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

describe('jetbox dlq CLI', function () {
  this.timeout(60_000);
  let h: ConsumerHarness;

  const jetbox = async (...args: string[]) => {
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', cli, ...args], {
        env: {
          ...process.env,
          NATS_URL: testNatsUrl(),
          JETBOX_DLQ_STREAM: h.dlqStream,
          JETBOX_DLQ_SUBJECT_PREFIX: h.dlqPrefix,
        },
      });
      return { code: 0, stdout, stderr: '' };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  before(async () => {
    h = await createConsumerHarness();
  });
  after(async () => h?.close());

  it('lists, shows, redrives and purges real dead letters', async () => {
    const matchId = uuidv7();
    const consumer = h.consumer({
      name: 'cli_dlq',
      subjects: `${h.prefix}.>`,
      handlers: {
        'com.jetbox.match.created': () => Promise.reject(new NonRetryableError('user was deleted')),
      },
    });
    let dead = 0;
    consumer.events.on('consumer:deadLettered', () => dead++);
    await consumer.start();
    await h.publish(
      'com.jetbox.match.created',
      { matchId, userIds: [uuidv7(), uuidv7()], region: 'eu' },
      { partition: 0 },
    );
    await h.publishRaw(`match.created.0`, 'not json {');
    await waitFor('two dead letters', () => dead === 2);
    await consumer.stop();

    const ls = await jetbox('dlq', 'ls', '--json');
    expect(ls.code, ls.stderr).to.equal(0);
    const letters = JSON.parse(ls.stdout) as {
      seq: number;
      reason: string;
      type?: string;
      error: string;
    }[];
    expect(letters.map((l) => l.reason).sort()).to.deep.equal(['decode-failed', 'non-retryable']);
    const handlerFailure = letters.find((l) => l.reason === 'non-retryable')!;
    expect(handlerFailure.type).to.equal('com.jetbox.match.created');

    const filtered = JSON.parse(
      (await jetbox('dlq', 'ls', '--json', '--reason', 'decode-failed')).stdout,
    ) as unknown[];
    expect(filtered).to.have.length(1);

    const show = JSON.parse(
      (await jetbox('dlq', 'show', String(handlerFailure.seq), '--json')).stdout,
    ) as { body: string; error: string };
    expect(show.error).to.equal('NonRetryableError: user was deleted');
    expect(JSON.parse(show.body)).to.include({ matchId });

    const jsm = await jetstreamManager(h.nc);
    const before = (await jsm.streams.info(h.stream)).state.messages;
    const redrive = await jetbox('dlq', 'redrive', String(handlerFailure.seq), '--json');
    expect(JSON.parse(redrive.stdout)).to.deep.equal({ redriven: 1, duplicates: 0 });
    expect((await jsm.streams.info(h.stream)).state.messages).to.equal(before + 1);

    const refused = await jetbox('dlq', 'purge');
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/add --yes to confirm/);
    expect(JSON.parse((await jetbox('dlq', 'purge', '--yes', '--json')).stdout)).to.deep.equal({
      purged: 1,
    });
    expect((await jetbox('dlq', 'ls')).stdout.trim()).to.equal('no dead letters');
  });
});
