import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from '@nats-io/nats-core';
import { connectNats } from '../src/jetstream/connectNats.js';
import { serverFeatures } from '../src/jetstream/serverFeatures.js';
import { startNatsServer, type NatsServerHandle } from '../src/testing/natsServer.js';

async function expectAuthFailure(promise: Promise<{ close(): Promise<void> }>): Promise<void> {
  let nc: { close(): Promise<void> } | undefined;
  try {
    nc = await promise;
  } catch (err) {
    expect(String(err)).to.match(/authorization/i);
    return;
  }
  await nc.close();
  expect.fail('connecting should have failed authorization');
}

describe('connectNats against test-owned servers with authentication', () => {
  const servers: NatsServerHandle[] = [];
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jetbox-connect-'));
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.dispose()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects with user and password, and is refused with a wrong password', async () => {
    const server = await startNatsServer({ args: ['--user', 'relay', '--pass', 's3cret'] });
    servers.push(server);
    const nc = await connectNats({
      servers: [server.url],
      user: 'relay',
      pass: 's3cret',
      name: 'jetbox-test',
    });
    try {
      expect((await serverFeatures(nc)).jetstream).to.equal(true);
      await nc.flush();
    } finally {
      await nc.close();
    }
    await expectAuthFailure(
      connectNats({ servers: [server.url], user: 'relay', pass: 'wrong', maxReconnectAttempts: 0 }),
    );
    await expectAuthFailure(connectNats({ servers: [server.url], maxReconnectAttempts: 0 }));
  });

  it('connects with a token', async () => {
    const server = await startNatsServer({ jetstream: false, args: ['--auth', 'tok3n'] });
    servers.push(server);
    const nc = await connectNats({ servers: [server.url], token: 'tok3n' });
    await nc.flush();
    await nc.close();
    await expectAuthFailure(
      connectNats({ servers: [server.url], token: 'nope', maxReconnectAttempts: 0 }),
    );
  });

  it('connects with an NKey seed file', async () => {
    const user = nkeys.createUser();
    const conf = join(dir, 'nkey.conf');
    writeFileSync(conf, `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n`);
    const seedFile = join(dir, 'user.nk');
    writeFileSync(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`);
    const server = await startNatsServer({ jetstream: false, args: ['-c', conf] });
    servers.push(server);
    const nc = await connectNats({ servers: [server.url], nkeyFile: seedFile });
    await nc.flush();
    await nc.close();
    const stranger = new TextDecoder().decode(nkeys.createUser().getSeed());
    await expectAuthFailure(
      connectNats({ servers: [server.url], nkeySeed: stranger, maxReconnectAttempts: 0 }),
    );
  });
});
