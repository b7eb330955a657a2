import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { jetstreamManager } from '@nats-io/jetstream';
import { v7 as uuidv7 } from 'uuid';
import { startNatsServer, type NatsServerHandle } from '../src/testing/index.js';
import {
  createConsumerHarness,
  publishRounds,
  waitFor,
  type ConsumerHarness,
} from './consumerHarness.js';

/** A loopback TCP proxy to PostgreSQL that a test can cut (drop and refuse connections). */
async function startPgProxy(target: URL): Promise<{
  port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}> {
  let down = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (down) return client.destroy();
    const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy port');
  return {
    port: address.port,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function appliedInOrder(h: ConsumerHarness, keys: string[], perKey: number) {
  const rows = await h.sql<{ key: string; ns: number[] }>(
    'select key, array_agg(n order by id) as ns from applied group by key',
  );
  expect(rows.map((r) => r.key).sort()).to.deep.equal([...keys].sort());
  const expected = Array.from({ length: perKey }, (_, i) => i);
  for (const row of rows) expect(row.ns, `key ${row.key}`).to.deep.equal(expected);
}

function orderedConsumer(h: ConsumerHarness, extra: Record<string, unknown> = {}) {
  return h.consumer({
    name: 'fault',
    concurrency: 4,
    maxDeliver: 30,
    backoff: { initialMs: 100, multiplier: 2, maxMs: 500 },
    pullExpiresMs: 2000,
    handlerTimeoutMs: 2000,
    ...extra,
    handlers: {
      'com.jetbox.match.created': async (data, ctx) => {
        await ctx.em.execute('insert into applied (key, n) values (?, ?)', [
          data.matchId,
          Number(data.region),
        ]);
        await new Promise((r) => setTimeout(r, 5));
      },
    },
  });
}

describe('consumer faults: PostgreSQL and nats-server outages (real processes)', function () {
  this.timeout(40_000);

  describe('PostgreSQL unavailable for a few seconds', () => {
    let h: ConsumerHarness;
    let proxy: Awaited<ReturnType<typeof startPgProxy>>;

    before(async () => {
      const base = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/x');
      proxy = await startPgProxy(base);
      h = await createConsumerHarness({
        clientUrl: (url) => {
          const u = new URL(url);
          u.hostname = '127.0.0.1';
          u.port = String(proxy.port);
          return u.toString();
        },
      });
      await h.sql(
        'create table applied (id bigserial primary key, key text not null, n int not null)',
      );
    });

    afterEach(async () => h.assertStopped());

    after(async () => {
      proxy?.restore();
      await h?.close();
      await proxy?.close();
    });

    it('retries through the outage: nothing lost, nothing doubled, order kept', async () => {
      const keys = Array.from({ length: 5 }, () => uuidv7());
      const consumer = orderedConsumer(h);
      let processed = 0;
      let retries = 0;
      const dead: unknown[] = [];
      // A commit whose reply the cut swallowed is retried and then found in the inbox.
      consumer.events.on('consumer:processed', () => processed++);
      consumer.events.on('consumer:duplicate', () => processed++);
      consumer.events.on('consumer:retrying', () => retries++);
      consumer.events.on('consumer:deadLettered', (e) => dead.push(e));
      await consumer.start();
      await publishRounds(h, keys, 20);
      await waitFor('some processed', () => processed >= 10);
      proxy.cut();
      await new Promise((r) => setTimeout(r, 3000));
      proxy.restore();
      await waitFor('all settled', () => processed === 100 || dead.length > 0, 25_000);
      await consumer.stop();
      expect(dead).to.deep.equal([]);
      expect(retries).to.be.greaterThan(0);
      await appliedInOrder(h, keys, 20);
    });
  });

  describe('nats-server restarted mid-consume', () => {
    let server: NatsServerHandle;
    let h: ConsumerHarness;

    before(async () => {
      server = await startNatsServer({ jetstream: true });
      h = await createConsumerHarness({ natsServers: server.url });
      await h.sql(
        'create table applied (id bigserial primary key, key text not null, n int not null)',
      );
    });

    afterEach(async () => h.assertStopped());

    after(async () => {
      await h?.close();
      await server?.dispose();
    });

    it('resumes without manual action and applies every event once', async () => {
      const keys = Array.from({ length: 5 }, () => uuidv7());
      const consumer = orderedConsumer(h);
      let processed = 0;
      consumer.events.on('consumer:processed', () => processed++);
      consumer.events.on('consumer:duplicate', () => processed++);
      await consumer.start();
      await publishRounds(h, keys, 10);
      await waitFor('first half', () => processed === 50);
      await server.restart();
      await waitFor('JetStream back', async () => {
        try {
          await (await jetstreamManager(h.nc)).streams.info(h.stream);
          return true;
        } catch {
          return false;
        }
      });
      await publishRounds(h, keys, 10, 10);
      await waitFor('second half', () => processed >= 100, 25_000);
      await new Promise((r) => setTimeout(r, 300));
      await consumer.stop();
      expect(processed).to.equal(100);
      await appliedInOrder(h, keys, 20);
    });
  });
});
