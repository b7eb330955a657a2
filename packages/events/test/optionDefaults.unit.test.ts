import { expect } from 'chai';
import { resolveRelayOptions } from '../src/relay/relayOptions.js';
import { resolveOutboxOptions } from '../src/outbox/outboxOptions.js';
import { resolveConsumerOptions } from '../src/consumer/consumerOptions.js';

// Options read from configuration often arrive as `undefined` (an unset variable): they take
// their defaults instead of replacing them.
describe('options passed as undefined', () => {
  it('take the defaults in the relay, the outbox and the consumer backoff', () => {
    const relay = resolveRelayOptions({
      databaseUrl: 'postgres://localhost/x',
      nats: {} as never,
      stream: undefined,
      partitions: undefined,
      batchSize: undefined,
    });
    const defaults = resolveRelayOptions({
      databaseUrl: 'postgres://localhost/x',
      nats: {} as never,
    });
    expect(relay).to.deep.include({
      stream: defaults.stream,
      partitions: defaults.partitions,
      batchSize: defaults.batchSize,
    });
    expect(resolveOutboxOptions({ source: '/s', partitions: undefined }).partitions).to.equal(
      resolveOutboxOptions({ source: '/s' }).partitions,
    );
    const consumer = (backoff: object) =>
      resolveConsumerOptions({
        orm: {} as never,
        nats: {} as never,
        name: 'c',
        stream: 'S',
        handlers: {},
        backoff,
      }).backoff;
    expect(consumer({ initialMs: undefined, maxMs: 5000 })).to.deep.equal({
      ...consumer({}),
      maxMs: 5000,
    });
  });
});
