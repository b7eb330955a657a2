import { expect } from 'chai';
import { headers } from '@nats-io/nats-core';
import { backoffDelay, DEFAULT_BACKOFF } from '../src/consumer/backoffDelay.js';
import {
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_LINGER_MS,
  DEFAULT_MAX_DELIVER,
  resolveConsumerOptions,
  type ConsumerOptionsInput,
} from '../src/consumer/consumerOptions.js';
import { consumerDurables, partitionFilter } from '../src/consumer/consumerDurables.js';
import { consumerConfig } from '../src/consumer/ensureConsumer.js';
import { DeadLetterHeader, deadLetterHeaders } from '../src/consumer/deadLetterHeaders.js';
import { isNonRetryableError, NonRetryableError } from '../src/consumer/NonRetryableError.js';
import { isJetboxError } from '../src/errors.js';

const base = {
  orm: {},
  nats: {},
  name: 'notifier',
  stream: 'JETBOX_EVENTS',
  handlers: {},
} as unknown as ConsumerOptionsInput;

describe('consumer options, backoff and dead-letter headers', () => {
  it('fills in documented defaults', () => {
    const o = resolveConsumerOptions(base);
    expect(o).to.include({
      concurrency: 1,
      batchSize: DEFAULT_BATCH_SIZE,
      lingerMs: DEFAULT_LINGER_MS,
      maxDeliver: DEFAULT_MAX_DELIVER,
      ackWaitMs: DEFAULT_ACK_WAIT_MS,
      deadLetterSubjectPrefix: 'dlq',
    });
    expect(o.subjects).to.deep.equal([]);
    expect(o.partitions).to.deep.equal([]);
    expect(o.backoff).to.deep.equal(DEFAULT_BACKOFF);
    expect(resolveConsumerOptions({ ...base, subjects: 'events.match.>' }).subjects).to.deep.equal([
      'events.match.>',
    ]);
  });

  for (const [property, patch] of [
    ['name', { name: 'has.dot' }],
    ['concurrency', { concurrency: 0 }],
    ['maxDeliver', { maxDeliver: 1.5 }],
    ['ackWaitMs', { ackWaitMs: 10 }],
    ['backoff.multiplier', { backoff: { multiplier: 0.5 } }],
    ['subjects[1]', { subjects: ['a.>', 'has space'] }],
    ['handlers.com.jetbox.match.created', { handlers: { 'com.jetbox.match.created': 1 } }],
    ['handlers.com.jetbox.match.craeted', { handlers: { 'com.jetbox.match.craeted': () => {} } }],
    ['pullExpiresMs', { pullExpiresMs: 500 }],
    ['batchSize', { batchSize: 0 }],
    ['lingerMs', { lingerMs: -1 }],
    ['partitions', { partitions: [], subjects: 'events.>' }],
    ['partitions[1]', { partitions: [0, -1], subjects: 'events.>' }],
    ['partitions[2]', { partitions: [0, 1, 1], subjects: 'events.>' }],
    ['subjects', { partitions: [0] }],
    ['subjects[0]', { partitions: [0], subjects: 'events.match.created.3' }],
  ] as const) {
    it(`fails naming ${property}`, () => {
      try {
        resolveConsumerOptions({ ...base, ...(patch as object) });
        expect.fail('accepted a bad option');
      } catch (err) {
        expect(isJetboxError(err, 'INVALID_OPTIONS'), String(err)).to.equal(true);
        expect((err as Error).message).to.contain(`invalid option ${property}:`);
      }
    });
  }

  it('names the known CloudEvent types when a handler is keyed by another', () => {
    expect(() =>
      resolveConsumerOptions({
        ...base,
        handlers: { 'com.jetbox.match.craeted': () => {} } as never,
      }),
    ).to.throw(
      /com.jetbox.match.craeted: is not a CloudEvent type of @jetbox\/schemas \(known: .*com.jetbox.match.created/,
    );
  });

  it('backs off 1 s, 2 s, 4 s, 8 s … up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n))).to.deep.equal([
      1000, 2000, 4000, 8000, 16000,
    ]);
    expect(backoffDelay(20)).to.equal(60_000);
    expect(backoffDelay(3, { initialMs: 10, multiplier: 3, maxMs: 50 })).to.equal(50);
  });

  it('declares an explicit-ack durable with one extra server delivery', () => {
    const config = consumerConfig({
      name: 'n',
      subjects: ['events.match.>'],
      maxDeliver: 5,
      ackWaitMs: 30_000,
      maxAckPending: 100,
    });
    expect(config).to.include({
      durable_name: 'n',
      ack_policy: 'explicit',
      max_deliver: -1,
      ack_wait: 30_000_000_000,
      max_ack_pending: 100,
      filter_subject: 'events.match.>',
    });
  });

  it('gives each partition its own durable and filter, keeping the logical name', () => {
    expect(partitionFilter('events.>', 3, 's')).to.equal('events.*.*.3');
    expect(partitionFilter('events.match.>', 3, 's')).to.equal('events.match.*.3');
    expect(partitionFilter('events.match.created', 3, 's')).to.equal('events.match.created.3');
    expect(partitionFilter('events.*.created.>', 3, 's')).to.equal('events.*.created.3');
    const o = resolveConsumerOptions({ ...base, subjects: 'events.match.>', partitions: [4, 5] });
    expect(o.name).to.equal('notifier');
    expect(consumerDurables(o)).to.deep.equal([
      { name: 'notifier-p4', subjects: ['events.match.*.4'] },
      { name: 'notifier-p5', subjects: ['events.match.*.5'] },
    ]);
    expect(consumerDurables(resolveConsumerOptions(base))).to.deep.equal([
      { name: 'notifier', subjects: [] },
    ]);
  });

  it('copies original headers but not Nats-*, and keeps errors on one line', () => {
    const original = headers();
    original.set('Nats-Msg-Id', 'e1');
    original.set('Nats-Expected-Stream', 'X');
    original.set('ce-id', 'e1');
    const err = new NonRetryableError('line one\nline two');
    expect(isNonRetryableError(err)).to.equal(true);
    const out = deadLetterHeaders(
      {
        headers: original,
        subject: 'events.match.created.1',
        stream: 'S',
        streamSequence: 7,
        deliveryCount: 3,
        time: new Date('2026-11-21T00:00:00Z'),
      },
      'notifier',
      'non-retryable',
      err,
    );
    expect(out.get('ce-id')).to.equal('e1');
    expect(out.has('Nats-Msg-Id')).to.equal(false);
    expect(out.has('Nats-Expected-Stream')).to.equal(false);
    expect(out.get(DeadLetterHeader.MsgId)).to.equal('e1');
    expect(out.get(DeadLetterHeader.Error)).to.equal('NonRetryableError: line one line two');
    expect(out.get(DeadLetterHeader.StreamSequence)).to.equal('7');
    expect(out.get(DeadLetterHeader.Time)).to.equal('2026-11-21T00:00:00.000Z');
    expect(out.get(DeadLetterHeader.Stack)).not.to.match(/[\r\n]/);
  });
});
