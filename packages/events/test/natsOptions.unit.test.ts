import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from '@nats-io/nats-core';
import { natsConnectOptions } from '../src/jetstream/connectNats.js';
import {
  findNkeySeed,
  natsOptionsFromEnv,
  resolveNatsOptions,
  type NatsConnectionOptions,
} from '../src/jetstream/natsOptions.js';
import { serverFeaturesOf } from '../src/jetstream/serverFeatures.js';
import { expectInvalidOption } from './support/expectInvalidOption.js';

const seed = new TextDecoder().decode(nkeys.createUser().getSeed());

function expectInvalid(
  input: Partial<NatsConnectionOptions>,
  property: string,
  problem: RegExp,
): void {
  expectInvalidOption(() => resolveNatsOptions(input), property, problem);
}

describe('NATS connection options', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jetbox-natsopts-'));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('defaults to the local server, reconnecting forever', () => {
    expect(resolveNatsOptions()).to.deep.equal({
      servers: ['nats://127.0.0.1:4222'],
      maxReconnectAttempts: -1,
      reconnectTimeWaitMs: 1000,
      timeoutMs: 5000,
      waitOnFirstConnect: false,
    });
  });

  it('always connects with noAsyncTraces and the reconnect settings', async () => {
    const options = await natsConnectOptions({
      servers: ['nats://a:4222', 'tls://b:4443', 'c:4222'],
      name: 'relay',
      user: 'u',
      pass: 'p',
      reconnectTimeWaitMs: 250,
    });
    expect(options).to.deep.include({
      servers: ['nats://a:4222', 'tls://b:4443', 'c:4222'],
      name: 'relay',
      user: 'u',
      pass: 'p',
      noAsyncTraces: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: 5000,
      waitOnFirstConnect: false,
    });
    expect((await natsConnectOptions({ token: 't' })).token).to.equal('t');
  });

  it('reads TLS, NKey and creds files, naming the option when one is missing', async () => {
    writeFileSync(join(dir, 'ca.pem'), 'CA');
    writeFileSync(join(dir, 'cert.pem'), 'CERT');
    writeFileSync(join(dir, 'key.pem'), 'KEY');
    const tls = await natsConnectOptions({
      tls: {
        caFile: join(dir, 'ca.pem'),
        certFile: join(dir, 'cert.pem'),
        keyFile: join(dir, 'key.pem'),
      },
    });
    expect(tls.tls).to.deep.equal({ ca: 'CA', cert: 'CERT', key: 'KEY' });

    writeFileSync(join(dir, 'user.nk'), `# jetbox relay\n${seed}\n`);
    expect(findNkeySeed(`# jetbox relay\n${seed}\n`)).to.equal(seed);
    const nkey = await natsConnectOptions({ nkeyFile: join(dir, 'user.nk') });
    expect(nkey.authenticator).to.be.a('function');

    writeFileSync(join(dir, 'empty.nk'), 'nothing here');
    await expectRejected(
      natsConnectOptions({ nkeyFile: join(dir, 'empty.nk') }),
      /nats\.nkeyFile: .*holds no NKey seed/,
    );
    await expectRejected(
      natsConnectOptions({ credsFile: join(dir, 'missing.creds') }),
      /invalid option nats\.credsFile: cannot read .*missing\.creds/,
    );
    writeFileSync(join(dir, 'bad.creds'), 'not creds');
    await expectRejected(
      natsConnectOptions({ credsFile: join(dir, 'bad.creds') }),
      /not a NATS credentials file/,
    );
    await expectRejected(
      natsConnectOptions({ tls: { caFile: join(dir, 'nope.pem') } }),
      /invalid option nats\.tls\.caFile: cannot read/,
    );
  });

  it('refuses bad options naming the property', () => {
    expectInvalid({ servers: [] }, 'nats.servers', /at least one/);
    expectInvalid(
      { servers: ['nats://ok:4222', 'http://x:1'] },
      'nats.servers[1]',
      /nats:\/\/ or tls:\/\//,
    );
    expectInvalid({ servers: ['nats://:4222'] }, 'nats.servers[0]', /not a URL|no host/);
    expectInvalid({ user: 'u' }, 'nats.pass', /together/);
    expectInvalid({ pass: 'p' }, 'nats.user', /together/);
    expectInvalid(
      { user: 'u', pass: 'p', token: 't' },
      'nats.token',
      /one authentication method, got user\/pass and token/,
    );
    expectInvalid({ credsFile: 'a', nkeyFile: 'b' }, 'nats.credsFile', /one authentication method/);
    expectInvalid({ nkeySeed: 'SUnot-a-seed' }, 'nats.nkeySeed', /NKey seed/);
    expectInvalid({ token: '' }, 'nats.token', /non-empty/);
    expectInvalid({ tls: { certFile: 'c' } }, 'nats.tls.keyFile', /together/);
    expectInvalid({ maxReconnectAttempts: -2 }, 'nats.maxReconnectAttempts', /-1 for forever/);
    expectInvalid({ reconnectTimeWaitMs: 0 }, 'nats.reconnectTimeWaitMs', /positive/);
    expectInvalid({ timeoutMs: 1.5 }, 'nats.timeoutMs', /positive/);
  });

  it('reads the NATS_* environment variables', () => {
    expect(
      natsOptionsFromEnv({
        NATS_URL: 'nats://a:4222, nats://b:4222,,',
        NATS_USER: 'relay',
        NATS_PASSWORD: ' s3cret ',
        NATS_TLS_CA: '/etc/ca.pem',
        NATS_TLS_CERT: '/etc/cert.pem',
        NATS_TLS_KEY: '/etc/key.pem',
        NATS_TOKEN: '',
        UNRELATED: 'x',
      }),
    ).to.deep.equal({
      servers: ['nats://a:4222', 'nats://b:4222'],
      user: 'relay',
      pass: ' s3cret ',
      tls: { caFile: '/etc/ca.pem', certFile: '/etc/cert.pem', keyFile: '/etc/key.pem' },
    });
    expect(natsOptionsFromEnv({ NATS_TOKEN: 'tok', NATS_CREDS: '/c.creds' })).to.deep.equal({
      token: 'tok',
      credsFile: '/c.creds',
    });
    expect(natsOptionsFromEnv({ NATS_NKEY: '/keys/user.nk' })).to.deep.equal({
      nkeyFile: '/keys/user.nk',
    });
    expect(natsOptionsFromEnv({ NATS_NKEY: seed })).to.deep.equal({ nkeySeed: seed });
    expect(natsOptionsFromEnv({})).to.deep.equal({});
  });
});

describe('server features by version', () => {
  it('knows 2.9 lacks multi-filter consumers, metadata and term reasons', () => {
    expect(serverFeaturesOf('2.9.10')).to.deep.include({
      major: 2,
      minor: 9,
      patch: 10,
      multiFilter: false,
      metadata: false,
      termReason: false,
    });
  });

  it('knows 2.10 and later have them', () => {
    for (const version of ['2.10.0', 'v2.10.0-beta.3', '2.11.4', '3.0.0']) {
      expect(serverFeaturesOf(version), version).to.deep.include({
        multiFilter: true,
        metadata: true,
        termReason: true,
      });
    }
  });

  it('refuses a version it cannot read', () => {
    expect(() => serverFeaturesOf('unknown')).to.throw(
      /cannot parse nats-server version "unknown"/,
    );
  });
});

async function expectRejected(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected rejection matching ${message}`);
}
