import { expect } from 'chai';
import { jetstreamManager } from '@nats-io/jetstream';
import { v7 as uuidv7 } from 'uuid';
import { RetryLaterError } from '../src/consumer/RetryLaterError.js';
import { listDeadLetters } from '../src/dlq/listDeadLetters.js';
import {
  createConsumerHarness,
  newMatch,
  waitFor,
  type ConsumerHarness,
} from './consumerHarness.js';

describe('consumer: RetryLaterError (a dependency is down) never uses up attempts', function () {
  this.timeout(30_000);
  let h: ConsumerHarness;

  before(async () => {
    h = await createConsumerHarness();
    await h.sql('create table effects (id bigserial primary key, event_id uuid not null)');
  });
  afterEach(async () => h.assertStopped());
  after(async () => h?.close());

  it('retries after the given delay as often as needed, keeps key order, and applies once', async () => {
    const key = uuidv7();
    const outageUntil = Date.now() + 1500;
    const calls: number[] = [];
    const consumer = h.consumer({
      name: 'deferring',
      maxDeliver: 2,
      backoff: { initialMs: 10 },
      handlers: {
        'com.jetbox.match.created': async (_data, ctx) => {
          calls.push(Date.now());
          if (Date.now() < outageUntil) {
            throw new RetryLaterError('match-service circuit open', { delayMs: 100 });
          }
          await ctx.em.execute('insert into effects (event_id) values (?)', [ctx.event.id]);
        },
      },
    });
    const deferred: number[] = [];
    const retrying: number[] = [];
    consumer.events.on('consumer:deferred', (e) => deferred.push(e.attempt));
    consumer.events.on('consumer:retrying', (e) => retrying.push(e.attempt));
    await consumer.start();
    const ids = [
      await h.publish('com.jetbox.match.created', { ...newMatch(), matchId: key }),
      await h.publish('com.jetbox.match.created', { ...newMatch(), matchId: key }),
    ];
    await waitFor('both applied', async () => (await effects()).length === 2, 15_000);
    await consumer.stop();

    expect((await effects()).map((r) => r.event_id)).to.deep.equal(ids);
    // Far more tries than maxDeliver (2), none of them counted: every deferral is attempt 1.
    expect(deferred.length).to.be.greaterThan(5);
    expect(new Set(deferred)).to.deep.equal(new Set([1]));
    expect(retrying).to.deep.equal([]);
    const gaps = calls.slice(1, deferred.length).map((t, i) => t - calls[i]!);
    expect(Math.min(...gaps)).to.be.at.least(90);
    const letters = await listDeadLetters(h.nc, {
      stream: h.dlqStream,
      subjectPrefix: h.dlqPrefix,
      consumer: 'deferring',
    });
    expect(letters).to.deep.equal([]);
    const info = await (await jetstreamManager(h.nc)).consumers.info(h.stream, 'deferring');
    expect(info.num_ack_pending).to.equal(0);
    expect(info.num_redelivered).to.equal(0);
  });

  it('rejects a negative delay with an error naming it', () => {
    expect(() => new RetryLaterError('x', { delayMs: -1 })).to.throw(/RetryLaterError\.delayMs/);
  });

  async function effects() {
    return h.sql<{ event_id: string }>('select event_id from effects order by id');
  }
});
