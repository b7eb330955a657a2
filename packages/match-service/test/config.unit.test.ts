import { expect } from 'chai';
import { ConfigError, readConfig } from '../src/config.js';

describe('readConfig', () => {
  it('has defaults for everything', () => {
    expect(readConfig({})).to.deep.include({
      port: 3000,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/jetbox',
      stream: 'JETBOX_EVENTS',
      subjectPrefix: 'events',
      partitions: 16,
      relayInProcess: true,
    });
    expect(readConfig({}).nats.servers).to.deep.equal(['nats://127.0.0.1:4222']);
  });

  it('reads the environment', () => {
    const config = readConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://db/x',
      NATS_URL: 'nats://a:4222, nats://b:4222',
      JETBOX_STREAM: 'S',
      JETBOX_PARTITIONS: '4',
      RELAY_IN_PROCESS: 'false',
    });
    expect(config).to.deep.include({
      port: 8080,
      databaseUrl: 'postgres://db/x',
      stream: 'S',
      partitions: 4,
      relayInProcess: false,
    });
    expect(config.nats.servers).to.deep.equal(['nats://a:4222', 'nats://b:4222']);
  });

  it('fails naming the variable', () => {
    expect(() => readConfig({ PORT: 'http' })).to.throw(ConfigError, /^PORT must be an integer/);
    expect(() => readConfig({ JETBOX_PARTITIONS: '0' })).to.throw(/^JETBOX_PARTITIONS/);
    expect(() => readConfig({ RELAY_IN_PROCESS: 'maybe' })).to.throw(/^RELAY_IN_PROCESS/);
  });
});
