import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { jetstreamManager } from '@nats-io/jetstream';
import { testNatsUrl } from '../src/testing/index.js';
import {
  createConsumerHarness,
  newMatch,
  waitFor,
  type ConsumerHarness,
} from './consumerHarness.js';

const child = fileURLToPath(new URL('./fixtures/killAfterCommit.ts', import.meta.url));

describe('consumer: killed after commit, before ack (real process, PostgreSQL + NATS)', function () {
  this.timeout(30_000);
  let h: ConsumerHarness;

  before(async () => {
    h = await createConsumerHarness();
    await h.sql('create table effects (event_id uuid not null, match_id uuid not null)');
  });

  afterEach(async () => h.assertStopped());

  after(async () => h?.close());

  it('redelivers the event and the inbox keeps the effect applied once', async () => {
    const match = newMatch();
    const id = await h.publish('com.jetbox.match.created', match);
    const proc = spawn(process.execPath, ['--import', 'tsx', child], {
      env: {
        ...process.env,
        DATABASE_URL: h.db.url,
        NATS_URL: testNatsUrl(),
        STREAM: h.stream,
        CONSUMER: 'crashy',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = await new Promise<NodeJS.Signals | number | null>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      proc.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(signal ?? code);
      });
    });
    expect(exit, stderr).to.equal('SIGKILL');
    // Committed, never acknowledged.
    expect(await h.sql('select event_id from effects')).to.deep.equal([{ event_id: id }]);
    const jsm = await jetstreamManager(h.nc);
    expect((await jsm.consumers.info(h.stream, 'crashy')).num_ack_pending).to.equal(1);

    let calls = 0;
    const consumer = h.consumer({
      name: 'crashy',
      ackWaitMs: 1000,
      pullExpiresMs: 1000,
      handlers: {
        'com.jetbox.match.created': async () => {
          calls++;
          await Promise.resolve();
        },
      },
    });
    const duplicates: { eventId?: string; attempt: number }[] = [];
    consumer.events.on('consumer:duplicate', (e) => duplicates.push(e));
    await consumer.start();
    await waitFor('redelivery', () => duplicates.length === 1, 10_000);
    await waitFor(
      'ack',
      async () => (await jsm.consumers.info(h.stream, 'crashy')).num_ack_pending === 0,
    );
    await consumer.stop();

    expect(calls).to.equal(0);
    expect(duplicates[0]).to.include({ eventId: id });
    expect(duplicates[0]!.attempt).to.be.greaterThan(1);
    expect(await h.sql('select match_id from effects')).to.deep.equal([
      { match_id: match.matchId },
    ]);
  });
});
