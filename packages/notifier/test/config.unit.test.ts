import { expect } from 'chai';
import { ConfigError, readConfig } from '../src/config.js';

describe('notifier readConfig', () => {
  it('has defaults for everything, with its own database', () => {
    const config = readConfig({});
    expect(config).to.deep.include({
      port: 3001,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/jetbox_notifier',
      stream: 'JETBOX_EVENTS',
      subjectPrefix: 'events',
      consumerName: 'notifier',
      concurrency: 8,
      ackWaitMs: 30_000,
      matchServiceUrl: 'http://127.0.0.1:3000',
      webhookUrl: undefined,
      streamReplicas: 1,
    });
    expect(config.http).to.deep.equal({
      timeoutMs: 3000,
      retries: 3,
      initialBackoffMs: 250,
      maxBackoffMs: 4000,
      breakerFailures: 5,
      breakerHalfOpenMs: 5000,
      maxConcurrent: 10,
      maxQueued: 100,
    });
  });

  it('reads the environment', () => {
    const config = readConfig({
      PORT: '9000',
      MATCH_SERVICE_URL: 'http://match-service:3000/',
      NOTIFIER_WEBHOOK_URL: 'https://hooks.example.test/notify',
      NOTIFIER_CONSUMER: 'notifier-eu',
      NOTIFIER_HTTP_TIMEOUT_MS: '1500',
      NOTIFIER_BULKHEAD: '4',
      JETBOX_STREAM_REPLICAS: '3',
    });
    expect(config).to.deep.include({
      port: 9000,
      matchServiceUrl: 'http://match-service:3000',
      webhookUrl: 'https://hooks.example.test/notify',
      consumerName: 'notifier-eu',
      streamReplicas: 3,
    });
    expect(config.http).to.deep.include({ timeoutMs: 1500, maxConcurrent: 4 });
  });

  it('fails naming the variable', () => {
    expect(() => readConfig({ MATCH_SERVICE_URL: 'match-service' })).to.throw(
      ConfigError,
      /^MATCH_SERVICE_URL/,
    );
    expect(() => readConfig({ NOTIFIER_CONSUMER: 'a.b' })).to.throw(
      ConfigError,
      /^NOTIFIER_CONSUMER/,
    );
    expect(() => readConfig({ NOTIFIER_HTTP_TIMEOUT_MS: '0' })).to.throw(
      ConfigError,
      /^NOTIFIER_HTTP_TIMEOUT_MS/,
    );
    expect(() => readConfig({ NOTIFIER_CONCURRENCY: 'many' })).to.throw(
      ConfigError,
      /^NOTIFIER_CONCURRENCY/,
    );
  });
});
