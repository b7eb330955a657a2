import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  startNatsCluster,
  startNatsServer,
  type NatsClusterHandle,
  type NatsServerHandle,
} from '../src/testing/natsServer.js';

async function connectTo(servers: string | string[]): Promise<NatsConnection> {
  return connect({
    servers,
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
}

/** Publishes, retrying while the cluster elects a new leader (bounded in time). */
async function publishWithRetry(nc: NatsConnection, subject: string, id: string): Promise<number> {
  const js = jetstream(nc, { timeout: 2000 });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return (await js.publish(subject, id, { msgID: id })).seq;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await delay(200);
    }
  }
}

describe('testing/natsServer: test-owned nats-server processes', () => {
  describe('single node', () => {
    let server: NatsServerHandle;
    let nc: NatsConnection | undefined;

    before(async () => {
      server = await startNatsServer();
    });

    after(async () => {
      await nc?.close();
      await server.dispose();
    });

    it('serves JetStream as soon as start resolves', async () => {
      expect(server.url).to.equal(`nats://127.0.0.1:${server.port}`);
      expect(server.running).to.equal(true);
      nc = await connectTo(server.url);
      const jsm = await jetstreamManager(nc);
      const info = await jsm.getAccountInfo();
      expect(info.streams).to.equal(0);
    });

    it('keeps stream data across kill -9 and restart on the same port and store', async () => {
      const jsm = await jetstreamManager(nc!);
      await jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'], storage: StorageType.File });
      const js = jetstream(nc!);
      for (let i = 1; i <= 3; i++) await js.publish('keep.a', `m${i}`, { msgID: `m${i}` });
      const pid = server.pid;
      await server.kill();
      expect(server.running).to.equal(false);
      await server.restart();
      expect(server.pid).to.not.equal(pid);
      expect(server.running).to.equal(true);
      await nc!.close();
      nc = await connectTo(server.url);
      const after = await jetstreamManager(nc);
      const info = await after.streams.info('KEEP');
      expect(info.state.messages).to.equal(3);
      expect((await after.streams.getMessage('KEEP', { seq: 3 }))?.string()).to.equal('m3');
      const ack = await jetstream(nc).publish('keep.a', 'm4', { msgID: 'm4' });
      expect(ack.seq).to.equal(4);
    });

    it('stops gracefully, restarts, and removes its store on dispose', async () => {
      await nc?.close();
      nc = undefined;
      await server.stop();
      await server.stop();
      expect(server.running).to.equal(false);
      await server.restart();
      nc = await connectTo(server.url);
      const info = await (await jetstreamManager(nc)).streams.info('KEEP');
      expect(info.state.messages).to.equal(4);
      await nc.close();
      nc = undefined;
      await server.dispose();
      await server.dispose();
      expect(server.running).to.equal(false);
      expect(existsSync(server.storeDir)).to.equal(false);
    });

    it('fails start with the server log when nats-server cannot start', async () => {
      try {
        await startNatsServer({ args: ['-c', '/nonexistent/jetbox-nats.conf'] });
      } catch (err) {
        expect((err as Error).message).to.match(/exited during start/);
        expect((err as Error).message).to.match(/nonexistent\/jetbox-nats\.conf/);
        return;
      }
      expect.fail('start should have failed');
    });
  });

  describe('3-node cluster', () => {
    let cluster: NatsClusterHandle;
    let nc: NatsConnection | undefined;

    before(async () => {
      cluster = await startNatsCluster({ size: 3 });
    });

    after(async () => {
      await nc?.close();
      await cluster.dispose();
      for (const s of cluster.servers) expect(existsSync(s.storeDir)).to.equal(false);
    });

    it('keeps an R3 stream writable and readable after its leader is killed', async () => {
      expect(cluster.urls).to.have.length(3);
      nc = await connectTo(cluster.urls);
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({
        name: 'R3',
        subjects: ['r3.>'],
        num_replicas: 3,
        storage: StorageType.File,
      });
      for (let i = 1; i <= 5; i++) await publishWithRetry(nc, 'r3.a', `before-${i}`);

      const leaderName = (await jsm.streams.info('R3')).cluster?.leader;
      const leader = cluster.servers.find((s) => s.serverName === leaderName);
      expect(leader, `leader ${leaderName}`).to.not.equal(undefined);
      await leader!.kill();

      for (let i = 1; i <= 5; i++) await publishWithRetry(nc, 'r3.a', `after-${i}`);
      const deadline = Date.now() + 10_000;
      let messages = 0;
      while (Date.now() < deadline) {
        messages = await jsm.streams
          .info('R3')
          .then((si) => si.state.messages)
          .catch(() => -1);
        if (messages === 10) break;
        await delay(100);
      }
      expect(messages).to.equal(10);
      const bodies: string[] = [];
      for (let seq = 1; seq <= 10; seq++) {
        bodies.push((await jsm.streams.getMessage('R3', { seq }))!.string());
      }
      expect(bodies).to.deep.equal([
        ...[1, 2, 3, 4, 5].map((i) => `before-${i}`),
        ...[1, 2, 3, 4, 5].map((i) => `after-${i}`),
      ]);
    });
  });
});
