import { expect } from 'chai';
import { isJetboxError } from '../src/errors.js';
import { listDeadLetters } from '../src/dlq/listDeadLetters.js';
import { purgeDeadLetters } from '../src/dlq/purgeDeadLetters.js';
import { redriveDeadLetters, redriveMsgId } from '../src/dlq/redriveDeadLetters.js';
import { showDeadLetter } from '../src/dlq/showDeadLetter.js';
import {
  createConsumerHarness,
  newMatch,
  waitFor,
  type ConsumerHarness,
} from './consumerHarness.js';

describe('dead letters: list, show, redrive, purge (PostgreSQL + NATS)', function () {
  this.timeout(30_000);
  let h: ConsumerHarness;
  let fixed = false;
  const applied: string[] = [];
  let dead = 0;

  before(async () => {
    h = await createConsumerHarness();
  });

  afterEach(async () => h.assertStopped());

  after(async () => h?.close());

  const list = (filter: { consumer?: string; reason?: string; type?: string } = {}) =>
    listDeadLetters(h.nc, { stream: h.dlqStream, subjectPrefix: h.dlqPrefix, ...filter });

  function startConsumer(name: string, partition: number) {
    const consumer = h.consumer({
      name,
      subjects: `${h.prefix}.*.*.${partition}`,
      maxDeliver: 2,
      backoff: { initialMs: 10 },
      handlers: {
        'com.jetbox.match.created': async (data) => {
          await Promise.resolve();
          if (!fixed) throw new Error(`cannot handle ${data.matchId} yet`);
          applied.push(data.matchId);
        },
      },
    });
    consumer.events.on('consumer:deadLettered', () => dead++);
    return consumer;
  }

  it('lists, shows and redrives dead letters once each, also when a redrive is re-run', async () => {
    const consumer = startConsumer('notify', 0);
    await consumer.start();
    const matches = [newMatch(), newMatch(), newMatch()];
    const ids: string[] = [];
    for (const m of matches) ids.push(await h.publish('com.jetbox.match.created', m));
    await h.publishRaw('match.created.0', 'garbage');
    await waitFor('4 dead letters', () => dead === 4);

    expect((await list()).map((l) => l.reason).sort()).to.deep.equal([
      'decode-failed',
      'max-deliveries',
      'max-deliveries',
      'max-deliveries',
    ]);
    const all = await list({ reason: 'max-deliveries' });
    expect(all.map((l) => l.eventId)).to.deep.equal(ids);
    expect(await list({ reason: 'decode-failed' })).to.have.length(1);
    expect(await list({ type: 'com.jetbox.match.created' })).to.have.length(3);
    expect(await list({ consumer: 'other' })).to.have.length(0);
    const shown = await showDeadLetter(h.nc, h.dlqStream, all[0]!.seq);
    expect(shown).to.include({ consumer: 'notify', deliveryCount: 2, eventId: ids[0] });
    expect(shown.error).to.match(/cannot handle/);
    try {
      await showDeadLetter(h.nc, h.dlqStream, 9999);
      expect.fail('showed a missing dead letter');
    } catch (err) {
      expect(isJetboxError(err, 'NOT_FOUND')).to.equal(true);
    }

    fixed = true;
    // An earlier run that published the first one and died before deleting it.
    const first = all[0]!;
    const { headers } = await import('@nats-io/nats-core');
    const hdrs = headers();
    for (const [k, v] of first.headers ?? []) if (!/^jetbox-dlq-/i.test(k)) hdrs.set(k, v[0]!);
    await h.js.publish(first.originalSubject, first.data, {
      headers: hdrs,
      msgID: redriveMsgId(h.dlqStream, first.seq),
    });
    await waitFor('first applied', () => applied.length === 1);

    const progress: number[] = [];
    const result = await redriveDeadLetters(h.nc, {
      stream: h.dlqStream,
      subjectPrefix: h.dlqPrefix,
      type: 'com.jetbox.match.created',
      onProgress: (done) => progress.push(done),
    });
    expect(result).to.deep.equal({ redriven: 2, duplicates: 1 });
    expect(progress).to.deep.equal([1, 2, 3]);
    await waitFor('all applied', () => applied.length === 3);
    await new Promise((r) => setTimeout(r, 200));
    await consumer.stop();
    expect(applied).to.deep.equal(matches.map((m) => m.matchId));
    expect((await list()).map((l) => l.reason)).to.deep.equal(['decode-failed']);
    // Nothing left to redrive: a re-run changes nothing.
    const again = await redriveDeadLetters(h.nc, {
      stream: h.dlqStream,
      subjectPrefix: h.dlqPrefix,
      type: 'com.jetbox.match.created',
    });
    expect(again).to.deep.equal({ redriven: 0, duplicates: 0 });
  });

  it("purges one consumer's dead letters or all", async () => {
    fixed = false;
    dead = 0;
    const a = startConsumer('purge_a', 1);
    await a.start();
    await h.publishRaw('match.created.1', 'x');
    await waitFor('dead letters', () => dead === 1);
    await a.stop();
    expect(await list({ consumer: 'purge_a' })).to.have.length(1);
    expect(
      await purgeDeadLetters(h.nc, {
        stream: h.dlqStream,
        subjectPrefix: h.dlqPrefix,
        consumer: 'purge_a',
      }),
    ).to.equal(1);
    expect(await list({ consumer: 'purge_a' })).to.have.length(0);
    expect(await list()).to.have.length(1);
    expect(
      await purgeDeadLetters(h.nc, { stream: h.dlqStream, subjectPrefix: h.dlqPrefix }),
    ).to.equal(1);
    expect(await list()).to.have.length(0);
  });
});
