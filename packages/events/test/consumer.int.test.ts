import { expect } from 'chai';
import { jetstreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { v7 as uuidv7 } from 'uuid';
import { encodeCloudEvent } from '../src/cloudevents/encodeCloudEvent.js';
import type { ConsumerEventMap } from '../src/consumer/consumerEvents.js';
import type { Consumer } from '../src/consumer/createConsumer.js';
import { DeadLetterHeader } from '../src/consumer/deadLetterHeaders.js';
import { NonRetryableError } from '../src/consumer/NonRetryableError.js';
import { registerConsumerMetrics } from '../src/consumer/registerConsumerMetrics.js';
import { listDeadLetters } from '../src/dlq/listDeadLetters.js';
import {
  createConsumerHarness,
  newMatch,
  waitFor,
  type ConsumerHarness,
} from './consumerHarness.js';

describe('consumer: exactly-once effects, retries and dead letters (PostgreSQL + NATS)', function () {
  this.timeout(30_000);
  let h: ConsumerHarness;
  let testNo = 0;
  let partition = 0;
  let name = '';

  before(async () => {
    h = await createConsumerHarness();
    await h.sql(
      'create table effects (id bigserial primary key, consumer text not null, event_id uuid not null, data jsonb not null)',
    );
  });

  beforeEach(() => {
    testNo++;
    partition = testNo;
    name = `c${testNo}`;
  });

  afterEach(async () => h.assertStopped());

  after(async () => h?.close());

  /** Subject filter of this test's partition only, so tests never see each other's messages. */
  const filter = () => `${h.prefix}.*.*.${partition}`;

  const effects = async (consumer = name) =>
    h.sql<{ event_id: string; data: unknown }>(
      'select event_id, data from effects where consumer = ? order by id',
      [consumer],
    );

  const dlqMessages = async (consumer = name) =>
    listDeadLetters(h.nc, { stream: h.dlqStream, subjectPrefix: h.dlqPrefix, consumer });

  async function pendingOf(consumer = name) {
    const jsm = await jetstreamManager(h.nc);
    const info = await jsm.consumers.info(h.stream, consumer);
    return { pending: info.num_pending, ackPending: info.num_ack_pending };
  }

  function record<K extends keyof ConsumerEventMap>(
    c: Consumer,
    event: K,
  ): ConsumerEventMap[K][0][] {
    const seen: ConsumerEventMap[K][0][] = [];
    const emitter = c.events as unknown as NodeJS.EventEmitter;
    emitter.on(event, (e: ConsumerEventMap[K][0]) => seen.push(e));
    return seen;
  }

  it('applies each event once, decoding binary and structured and upcasting v1 data', async () => {
    const created = newMatch();
    const cancelledId = uuidv7();
    const consumer = h.consumer({
      name,
      subjects: filter(),
      handlers: {
        'com.jetbox.match.created': async (data, ctx) => {
          await ctx.em.execute('insert into effects (consumer, event_id, data) values (?, ?, ?)', [
            name,
            ctx.event.id,
            JSON.stringify(data),
          ]);
        },
        'com.jetbox.match.cancelled': async (data, ctx) => {
          await ctx.em.execute('insert into effects (consumer, event_id, data) values (?, ?, ?)', [
            name,
            ctx.event.id,
            JSON.stringify(data),
          ]);
        },
      },
    });
    const processed = record(consumer, 'consumer:processed');
    await consumer.start();
    await consumer.start();
    const id1 = await h.publish('com.jetbox.match.created', created, { partition });
    const id2 = await h.publish('com.jetbox.match.created', newMatch(), {
      partition,
      mode: 'structured',
    });
    // A v1 event still in the stream: the handler sees it as v2.
    const id3 = await h.publish(
      'com.jetbox.match.cancelled',
      { matchId: cancelledId, reason: 'changed my mind' } as never,
      { partition, version: 1, id: uuidv7() },
    );
    await waitFor('3 events processed', () => processed.length === 3);
    await waitFor('acks', async () => (await pendingOf()).ackPending === 0);
    await consumer.stop();
    await consumer.stop();

    const rows = await effects();
    expect(rows.map((r) => r.event_id)).to.deep.equal([id1, id2, id3]);
    expect(rows[0]!.data).to.deep.equal(created);
    expect(rows[2]!.data).to.deep.equal({
      matchId: cancelledId,
      userIds: [],
      reason: { code: 'other', note: 'changed my mind' },
    });
    const inbox = await h.sql<{ n: string }>(
      'select count(*)::text as n from jetbox_inbox where consumer = ?',
      [name],
    );
    expect(inbox[0]!.n).to.equal('3');
    expect(await pendingOf()).to.deep.equal({ pending: 0, ackPending: 0 });
  });

  it('acknowledges an event already in the inbox without running the handler', async () => {
    let calls = 0;
    const consumer = h.consumer({
      name,
      subjects: filter(),
      handlers: {
        'com.jetbox.match.created': async (data, ctx) => {
          calls++;
          await ctx.em.execute('insert into effects (consumer, event_id, data) values (?, ?, ?)', [
            name,
            ctx.event.id,
            JSON.stringify(data),
          ]);
        },
      },
    });
    const duplicates = record(consumer, 'consumer:duplicate');
    const processed = record(consumer, 'consumer:processed');
    // As if an earlier delivery committed and the process died before the ack.
    const applied = uuidv7();
    await h.sql('insert into jetbox_inbox (consumer, event_id) values (?, ?)', [name, applied]);
    await h.publish('com.jetbox.match.created', newMatch(), { partition, id: applied });
    // The same event once more under another Nats-Msg-Id, as a redrive publishes it.
    const fresh = uuidv7();
    const data = newMatch();
    await h.publish('com.jetbox.match.created', data, { partition, id: fresh });
    const { headers, data: body } = encodeCloudEvent({
      specversion: '1.0',
      id: fresh,
      source: '/test',
      type: 'com.jetbox.match.created',
      partitionkey: data.matchId,
      data,
    });
    await h.js.publish(`${h.prefix}.match.created.${partition}`, body, {
      headers,
      msgID: uuidv7(),
    });
    await consumer.start();
    await waitFor('3 messages settled', () => duplicates.length + processed.length === 3);
    await waitFor('acks', async () => (await pendingOf()).ackPending === 0);
    await consumer.stop();

    expect(calls).to.equal(1);
    expect(duplicates.map((d) => d.eventId)).to.deep.equal([applied, fresh]);
    expect((await effects()).map((r) => r.event_id)).to.deep.equal([fresh]);
  });

  it('retries a failing handler with the configured backoff and applies it once', async () => {
    const attempts: number[] = [];
    const consumer = h.consumer({
      name,
      subjects: filter(),
      maxDeliver: 5,
      backoff: { initialMs: 150, multiplier: 2 },
      handlers: {
        'com.jetbox.match.created': async (data, ctx) => {
          attempts.push(performance.now());
          await ctx.em.execute('insert into effects (consumer, event_id, data) values (?, ?, ?)', [
            name,
            ctx.event.id,
            JSON.stringify(data),
          ]);
          // Thrown after the write: the rollback must undo it, or the effect would double.
          if (attempts.length <= 3) throw new Error(`flaky ${attempts.length}`);
        },
      },
    });
    const retries = record(consumer, 'consumer:retrying');
    await consumer.start();
    const id = await h.publish('com.jetbox.match.created', newMatch(), { partition });
    await waitFor('4th attempt', () => attempts.length === 4, 5000);
    await waitFor('ack', async () => (await pendingOf()).ackPending === 0);
    await consumer.stop();

    expect(retries.map((r) => r.delayMs)).to.deep.equal([150, 300, 600]);
    expect(retries.map((r) => r.error.message)).to.deep.equal(['flaky 1', 'flaky 2', 'flaky 3']);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    [150, 300, 600].forEach((want, i) => {
      expect(gaps[i], `gap before attempt ${i + 2}`).to.be.within(want - 5, want + 500);
    });
    expect((await effects()).map((r) => r.event_id)).to.deep.equal([id]);
  });

  it('rolls back a batch whose handler outlived handlerTimeoutMs, even one that then finishes: the retry applies it', async () => {
    const attempts: number[] = [];
    const consumer = h.consumer({
      name,
      subjects: filter(),
      handlerTimeoutMs: 200,
      backoff: { initialMs: 50, maxMs: 50 },
      handlers: {
        'com.jetbox.match.created': async (data, ctx) => {
          attempts.push(attempts.length + 1);
          await ctx.em.execute('insert into effects (consumer, event_id, data) values (?, ?, ?)', [
            name,
            ctx.event.id,
            JSON.stringify({ attempt: attempts.length }),
          ]);
          // The first attempt ignores its signal and ends after its batch was given up.
          if (attempts.length === 1) await new Promise((r) => setTimeout(r, 500));
        },
      },
    });
    const retries = record(consumer, 'consumer:retrying');
    const duplicates = record(consumer, 'consumer:duplicate');
    await consumer.start();
    const id = await h.publish('com.jetbox.match.created', newMatch(), { partition });
    await waitFor('ack', async () => attempts.length === 2 && (await pendingOf()).ackPending === 0);
    // Long enough for the abandoned first attempt to have finished (and not committed).
    await new Promise((r) => setTimeout(r, 600));
    await consumer.stop();

    // The retry may time out too, waiting on the inbox row the abandoned attempt still holds.
    expect(retries).to.not.be.empty;
    for (const r of retries) {
      expect(r.error.message).to.equal('handler and transaction took longer than 200 ms');
    }
    expect(duplicates).to.deep.equal([]);
    expect(await effects()).to.deep.equal([{ event_id: id, data: { attempt: 2 } }]);
  });

  it('dead-letters after maxDeliver attempts with the error, then terminates the original', async () => {
    let calls = 0;
    const consumer = h.consumer({
      name,
      subjects: filter(),
      maxDeliver: 3,
      backoff: { initialMs: 20 },
      handlers: {
        'com.jetbox.match.created': async () => {
          calls++;
          await Promise.resolve();
          throw new Error('match-service said 503');
        },
      },
    });
    const dead = record(consumer, 'consumer:deadLettered');
    await consumer.start();
    const id = await h.publish('com.jetbox.match.created', newMatch(), { partition });
    await waitFor('dead letter', () => dead.length === 1);
    await waitFor('term', async () => (await pendingOf()).ackPending === 0);
    await consumer.stop();

    expect(calls).to.equal(3);
    expect(dead[0]).to.include({ reason: 'max-deliveries', eventId: id, attempt: 3 });
    const [letter, ...more] = await dlqMessages();
    expect(more).to.have.length(0);
    expect(letter!.subject).to.equal(
      `${h.dlqPrefix}.${name}.${h.prefix}.match.created.${partition}`,
    );
    const hdr = (k: string) => letter!.headers?.get(k);
    expect(hdr(DeadLetterHeader.Reason)).to.equal('max-deliveries');
    expect(hdr(DeadLetterHeader.Error)).to.equal('Error: match-service said 503');
    expect(hdr(DeadLetterHeader.Stack)).to.match(/^at /);
    expect(hdr(DeadLetterHeader.DeliveryCount)).to.equal('3');
    expect(hdr(DeadLetterHeader.Consumer)).to.equal(name);
    expect(hdr(DeadLetterHeader.Subject)).to.equal(`${h.prefix}.match.created.${partition}`);
    expect(Number(hdr(DeadLetterHeader.StreamSequence))).to.be.greaterThan(0);
    expect(Date.parse(hdr(DeadLetterHeader.Time) ?? '')).to.be.closeTo(Date.now(), 30_000);
    expect(hdr(DeadLetterHeader.MsgId)).to.equal(id);
    expect(hdr('ce-id')).to.equal(id);
    expect(hdr('ce-type')).to.equal('com.jetbox.match.created');
    expect(letter).to.include({
      consumer: name,
      reason: 'max-deliveries',
      deliveryCount: 3,
      eventId: id,
    });
    expect(letter!.type).to.equal('com.jetbox.match.created');
    expect(letter!.originalSubject).to.equal(`${h.prefix}.match.created.${partition}`);
    expect(letter!.originalStream).to.equal(h.stream);
    expect(JSON.parse(Buffer.from(letter!.data).toString()) as unknown).to.have.property('matchId');
    expect(await effects()).to.have.length(0);
  });

  it('dead-letters a NonRetryableError at once', async () => {
    let calls = 0;
    const consumer = h.consumer({
      name,
      subjects: filter(),
      handlers: {
        'com.jetbox.match.created': async () => {
          calls++;
          await Promise.resolve();
          throw new NonRetryableError('user was deleted');
        },
      },
    });
    const dead = record(consumer, 'consumer:deadLettered');
    await consumer.start();
    await h.publish('com.jetbox.match.created', newMatch(), { partition });
    await waitFor('dead letter', () => dead.length === 1);
    await consumer.stop();
    expect(calls).to.equal(1);
    expect(dead[0]!.reason).to.equal('non-retryable');
    const [letter] = await dlqMessages();
    expect(letter!.headers?.get(DeadLetterHeader.Error)).to.equal(
      'NonRetryableError: user was deleted',
    );
  });

  it('dead-letters malformed, schema-invalid and unknown-type messages at once and goes on', async () => {
    const handled: string[] = [];
    const consumer = h.consumer({
      name,
      subjects: filter(),
      handlers: {
        'com.jetbox.match.created': async (data) => {
          await Promise.resolve();
          handled.push(data.matchId);
        },
      },
    });
    const dead = record(consumer, 'consumer:deadLettered');
    await consumer.start();
    const first = newMatch();
    await h.publish('com.jetbox.match.created', first, { partition });
    await h.publishRaw(`match.created.${partition}`, 'not json {', {
      'ce-specversion': '1.0',
      'ce-id': uuidv7(),
      'ce-source': '/test',
      'ce-type': 'com.jetbox.match.created',
      'ce-datacontenttype': 'application/json',
    });
    await h.publishRaw(`match.created.${partition}`, 'hello');
    const invalidId = await h.publish(
      'com.jetbox.match.created',
      { matchId: 'not-a-uuid', userIds: [], region: 7 } as never,
      { partition, key: 'k' },
    );
    const unknown = encodeCloudEvent({
      specversion: '1.0',
      id: uuidv7(),
      source: '/test',
      type: 'com.jetbox.match.exploded',
      data: {},
    });
    await h.js.publish(`${h.prefix}.match.exploded.${partition}`, unknown.data, {
      headers: unknown.headers,
    });
    const last = newMatch();
    await h.publish('com.jetbox.match.created', last, { partition });
    await waitFor('good messages', () => handled.length === 2);
    await waitFor('4 dead letters', () => dead.length === 4);
    await waitFor('all settled', async () => (await pendingOf()).ackPending === 0);
    await consumer.stop();

    expect(handled).to.deep.equal([first.matchId, last.matchId]);
    const letters = await dlqMessages();
    const reasons = letters.map((m) => ({
      reason: m.headers?.get(DeadLetterHeader.Reason),
      error: m.headers?.get(DeadLetterHeader.Error),
    }));
    expect(reasons[0]!.reason).to.equal('decode-failed');
    expect(reasons[0]!.error).to.match(/bad JSON body/);
    expect(reasons[1]!.reason).to.equal('decode-failed');
    expect(reasons[1]!.error).to.match(/not a CloudEvent/);
    expect(reasons[2]!.reason).to.equal('invalid-data');
    expect(reasons[2]!.error).to.match(/invalid data for com\.jetbox\.match\.created v1/);
    expect(reasons[2]!.error).to.match(/region/);
    expect(letters[2]!.headers?.get('ce-id')).to.equal(invalidId);
    expect(reasons[3]).to.deep.equal({
      reason: 'unknown-type',
      error: 'Error: unknown CloudEvent type "com.jetbox.match.exploded"',
    });
    expect(Buffer.from(letters[1]!.data).toString()).to.equal('hello');
  });

  it('declares the durable consumer idempotently and updates changed settings', async () => {
    const handlers = { 'com.jetbox.match.created': async () => Promise.resolve() };
    const a = h.consumer({ name, subjects: filter(), handlers, maxDeliver: 4 });
    await a.start();
    await a.stop();
    const jsm = await jetstreamManager(h.nc);
    let info = await jsm.consumers.info(h.stream, name);
    expect(info.config).to.include({
      max_deliver: -1,
      ack_policy: 'explicit',
      filter_subject: filter(),
    });
    const b = h.consumer({ name, subjects: filter(), handlers, maxDeliver: 6, ackWaitMs: 5000 });
    await b.start();
    await b.stop();
    info = await jsm.consumers.info(h.stream, name);
    expect(info.config).to.include({ max_deliver: -1, ack_wait: 5_000_000_000 });
  });

  it('stops while a handler runs: aborts its signal and gives the messages back', async () => {
    let aborted = false;
    let entered = 0;
    const consumer = h.consumer({
      name,
      subjects: filter(),
      stopTimeoutMs: 2000,
      pullExpiresMs: 1000,
      handlers: {
        'com.jetbox.match.created': async (_data, ctx) => {
          entered++;
          await new Promise<void>((resolve) =>
            ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
          );
          aborted = true;
          throw new Error('aborted');
        },
      },
    });
    const stopped = record(consumer, 'consumer:stopped');
    await consumer.start();
    const key = uuidv7();
    for (let i = 0; i < 3; i++) {
      await h.publish('com.jetbox.match.created', { ...newMatch(), matchId: key }, { partition });
    }
    await waitFor('handler entered', () => entered === 1);
    const t0 = performance.now();
    await consumer.stop();
    expect(performance.now() - t0).to.be.lessThan(1900);
    expect(aborted).to.equal(true);
    expect(stopped).to.deep.equal([{ consumer: name, timedOut: false }]);
    expect(entered).to.equal(1);
    // All three back with JetStream for the next instance.
    // All three go back to JetStream, in order, for the next instance after the stopped
    // instance's pull request expired (1 s), not after ack_wait (30 s).
    const seen: number[] = [];
    const next = h.consumer({
      name,
      subjects: filter(),
      handlers: {
        'com.jetbox.match.created': async (_data, ctx) => {
          await Promise.resolve();
          seen.push(ctx.delivery.streamSequence);
        },
      },
    });
    await next.start();
    await waitFor('redelivery to the next instance', () => seen.length === 3, 4000);
    await next.stop();
    expect(seen).to.deep.equal([...seen].sort((a, b) => a - b));
  });

  it('counts outcomes and reports lag in Prometheus metrics', async () => {
    let fail = 1;
    const consumer = h.consumer({
      name,
      subjects: filter(),
      backoff: { initialMs: 10 },
      handlers: {
        'com.jetbox.match.created': async () => {
          await Promise.resolve();
          if (fail-- > 0) throw new Error('once');
        },
      },
    });
    const registry = new Registry();
    const unregister = registerConsumerMetrics(consumer, { registry });
    const settled = record(consumer, 'consumer:processed');
    const dead = record(consumer, 'consumer:deadLettered');
    await h.publish('com.jetbox.match.created', newMatch(), { partition });
    await h.publishRaw(`match.created.${partition}`, 'junk');
    await consumer.start();
    await waitFor('settled', () => settled.length === 1 && dead.length === 1);
    await consumer.stop();
    const text = await registry.metrics();
    const value = (metric: string) => {
      const line = text.split('\n').find((l) => l.startsWith(metric + ' '));
      return line === undefined ? undefined : Number(line.slice(metric.length + 1));
    };
    expect(value(`jetbox_consumer_processed_total{consumer="${name}"}`)).to.equal(1);
    expect(value(`jetbox_consumer_retries_total{consumer="${name}"}`)).to.equal(1);
    expect(
      value(`jetbox_consumer_dead_lettered_total{consumer="${name}",reason="decode-failed"}`),
    ).to.equal(1);
    expect(value(`jetbox_consumer_handler_duration_seconds_count{consumer="${name}"}`)).to.equal(1);
    expect(value(`jetbox_consumer_batch_size_sum{consumer="${name}"}`)).to.equal(1);
    expect(value(`jetbox_consumer_lag{consumer="${name}"}`)).to.equal(0);
    expect(value(`jetbox_consumer_ack_pending{consumer="${name}"}`)).to.equal(0);
    unregister();
    expect(await registry.getSingleMetric('jetbox_consumer_lag')?.get()).to.have.nested.property(
      'values.length',
      0,
    );
  });

  it('shares the work between instances with the same name, each event applied once', async () => {
    const make = () =>
      h.consumer({
        name,
        subjects: filter(),
        concurrency: 2,
        maxAckPending: 20,
        handlers: {
          'com.jetbox.match.created': async (data, ctx) => {
            await ctx.em.execute(
              'insert into effects (consumer, event_id, data) values (?, ?, ?)',
              [name, ctx.event.id, JSON.stringify(data)],
            );
            await new Promise((r) => setTimeout(r, 2));
          },
        },
      });
    const a = make();
    const b = make();
    const byA = record(a, 'consumer:processed');
    const byB = record(b, 'consumer:processed');
    await a.start();
    await b.start();
    const ids = new Set<string>();
    for (let i = 0; i < 100; i++) {
      ids.add(await h.publish('com.jetbox.match.created', newMatch(), { partition }));
    }
    await waitFor('100 processed', () => byA.length + byB.length >= 100);
    await Promise.all([a.stop(), b.stop()]);
    expect(byA.length, 'instance a').to.be.greaterThan(0);
    expect(byB.length, 'instance b').to.be.greaterThan(0);
    const rows = await effects();
    expect(rows).to.have.length(100);
    expect(new Set(rows.map((r) => r.event_id))).to.deep.equal(ids);
  });
});
