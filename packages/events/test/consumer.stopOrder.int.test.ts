import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import {
  createConsumerHarness,
  newMatch,
  waitFor,
  type ConsumerHarness,
} from './consumerHarness.js';

describe('consumer: a stop while a key waits in backoff keeps the key in order', function () {
  this.timeout(60_000);
  let h: ConsumerHarness;

  before(async () => {
    h = await createConsumerHarness();
  });
  afterEach(async () => h.assertStopped());
  after(async () => h?.close());

  it('gives the later events of a key back after the one in backoff, so the next instance sees them in order', async () => {
    const key = uuidv7();
    const first = await h.publish('com.jetbox.match.created', { ...newMatch(), matchId: key });
    const second = await h.publish('com.jetbox.match.created', { ...newMatch(), matchId: key });
    // The first event's retry is due in 3 s, longer than the 1.25 s every message given back at
    // a stop waits for (pullExpiresMs + 250): the second must not come back before it.
    const failing = h.consumer({
      name: 'stop_order',
      pullExpiresMs: 1000,
      backoff: { initialMs: 3000 },
      handlers: {
        'com.jetbox.match.created': async () => {
          await Promise.resolve();
          throw new Error('not yet');
        },
      },
    });
    const retrying: string[] = [];
    failing.events.on('consumer:retrying', (e) => retrying.push(e.eventId!));
    await failing.start();
    await waitFor('the first event in backoff', () => retrying.length > 0);
    await failing.stop();

    const seen: string[] = [];
    const next = h.consumer({
      name: 'stop_order',
      pullExpiresMs: 1000,
      handlers: {
        'com.jetbox.match.created': async (_data, ctx) => {
          await Promise.resolve();
          seen.push(ctx.event.id);
        },
      },
    });
    await next.start();
    await waitFor('both handled', () => seen.length === 2, 20_000);
    await next.stop();
    expect(retrying[0]).to.equal(first);
    expect(seen).to.deep.equal([first, second]);
  });
});
