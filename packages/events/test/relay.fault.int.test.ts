import { expect } from 'chai';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createRelay } from '../src/relay/createRelay.js';
import { connectTestNats, startNatsServer, type NatsServerHandle } from '../src/testing/index.js';
import {
  byAggregate,
  createRelayFixture,
  waitFor,
  type RelayFixture,
} from './support/relayFixture.js';
import { exited, spawnRelay } from './support/spawnRelay.js';

describe('relay fault tests (real processes)', function () {
  this.timeout(120_000);

  describe('relay process SIGKILLed mid-drain', () => {
    let nc: NatsConnection;
    let fx: RelayFixture;
    before(async () => {
      nc = await connectTestNats();
      fx = await createRelayFixture(nc);
    });
    after(async () => {
      await fx.close();
      await nc.close();
    });

    it('publishes every one of 20,000 events exactly once after a restart', async () => {
      const inserted = await fx.insertEvents(20_000, 500);
      const env = {
        DATABASE_URL: fx.db.url,
        NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
        JETBOX_STREAM: fx.stream,
        JETBOX_PARTITIONS: '8',
      };
      const first = spawnRelay(env);
      await waitFor(
        'the drain to be under way',
        async () => (await fx.streamCount()) > 2000,
        60_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${first.output()}`);
      });
      first.child.kill('SIGKILL');
      await exited(first.child);
      const pending = await fx.pool.query<{ n: number }>(
        `select count(*)::int as n from jetbox_outbox where status = 'pending'`,
      );
      expect(pending.rows[0]!.n, 'killed before the end of the drain').to.be.greaterThan(0);

      const second = spawnRelay(env);
      try {
        await waitFor('every row published', () => fx.allPublished(), 60_000);
      } finally {
        second.child.kill('SIGTERM');
        expect(await exited(second.child), second.output()).to.equal(0);
      }
      const stream = await fx.readStream();
      expect(stream).to.have.length(20_000);
      expect(new Set(stream.map((m) => m.id)).size).to.equal(20_000);
      expect(byAggregate(stream)).to.deep.equal(byAggregate(inserted));
    });
  });

  describe('nats-server stopped for 10 s mid-drain', () => {
    let server: NatsServerHandle;
    let nc: NatsConnection;
    let fx: RelayFixture;
    before(async () => {
      server = await startNatsServer();
      nc = await connect({
        servers: server.url,
        noAsyncTraces: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
      });
      fx = await createRelayFixture(nc);
    });
    after(async () => {
      await fx?.close().catch(() => undefined);
      await nc?.close();
      await server?.stop();
    });

    it('backs up, backs off, and drains afterwards with nothing lost or doubled', async () => {
      const first = await fx.insertEvents(6000, 200);
      const relay = createRelay({
        databaseUrl: fx.db.url,
        nats: nc,
        outbox: fx.outbox,
        stream: fx.stream,
        pollIntervalMs: 200,
        batchSize: 200,
        publishTimeoutMs: 1000,
        backoffBaseMs: 200,
        backoffMaxMs: 2000,
      });
      const failures: number[] = [];
      relay.events.on('relay:publishFailed', (f) => failures.push(f.attempts));
      await relay.start();
      try {
        await waitFor(
          'the drain to be under way',
          async () => (await fx.streamCount()) > 500,
          30_000,
        );
        await server.stop();
        const more = await fx.insertEvents(2000, 50);
        await new Promise((r) => setTimeout(r, 10_000));
        const backlog = await fx.pool.query<{ n: number }>(
          `select count(*)::int as n from jetbox_outbox where status = 'pending'`,
        );
        expect(backlog.rows[0]!.n, 'backlog while NATS is down').to.be.greaterThan(2000);
        const failed = await fx.pool.query<{ n: number }>(
          `select count(*)::int as n from jetbox_outbox where status = 'failed'`,
        );
        expect(failed.rows[0]!.n).to.equal(0);
        await server.restart();
        await waitFor('every row published', () => fx.allPublished(), 60_000);
        const stream = await fx.readStream();
        expect(stream).to.have.length(8000);
        expect(new Set(stream.map((m) => m.id)).size).to.equal(8000);
        expect(byAggregate(stream)).to.deep.equal(byAggregate([...first, ...more]));
      } finally {
        await relay.stop();
      }
    });
  });
});
