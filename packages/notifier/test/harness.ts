import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeCloudEvent, migrate } from '@jetbox/events';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  uniqueStreamName,
  waitFor,
  type TestDatabase,
} from '@jetbox/events/testing';

export { waitFor };
import { dataschemaOf, type EventDataMap, type EventType } from '@jetbox/schemas';
import { listen, type Listening } from '@jetbox/service-kit';
import { MikroORM } from '@mikro-orm/postgresql';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { v7 as uuidv7 } from 'uuid';
import { createApp } from '../src/app.js';
import { createNotifier, type Notifier } from '../src/createNotifier.js';
import type { MatchView } from '../src/http/createMatchClient.js';
import { DEFAULT_HTTP_POLICY, type HttpPolicyOptions } from '../src/http/httpPolicyOptions.js';
import { notifierOrmOptions } from '../src/ormOptions.js';

/** An HTTP stand-in for a dependency (match-service's `GET /matches/:id`, a webhook). */
export interface StubServer {
  url: string;
  /** `ok` answers; `fail` answers 503; `slow` answers after `slowMs`. */
  mode: 'ok' | 'fail' | 'slow';
  slowMs: number;
  matches: Map<string, MatchView>;
  /** Every request received, in order. */
  received: { method: string; path: string; headers: IncomingMessage['headers']; body: string }[];
  /** Requests in progress right now, and the most there ever were. */
  inFlight: number;
  maxInFlight: number;
  close(): Promise<void>;
}

export async function startStub(): Promise<StubServer> {
  const stub: StubServer = {
    url: '',
    mode: 'ok',
    slowMs: 0,
    matches: new Map(),
    received: [],
    inFlight: 0,
    maxInFlight: 0,
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      stub.received.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      stub.inFlight++;
      stub.maxInFlight = Math.max(stub.maxInFlight, stub.inFlight);
      const answer = () => {
        stub.inFlight--;
        if (res.destroyed) return;
        if (stub.mode === 'fail') {
          res.writeHead(503).end('unavailable');
          return;
        }
        const match = /^\/matches\/([^/]+)$/.exec(req.url ?? '');
        if (req.method === 'GET' && match) {
          const found = stub.matches.get(match[1]!);
          if (!found) res.writeHead(404).end();
          else
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(found));
          return;
        }
        res.writeHead(204).end();
      };
      if (stub.mode === 'slow') setTimeout(answer, stub.slowMs);
      else answer();
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}

export interface NotifierHarness {
  db: TestDatabase;
  orm: MikroORM;
  nats: NatsConnection;
  jsm: JetStreamManager;
  stream: string;
  dlqStream: string;
  prefix: string;
  dlqPrefix: string;
  matchService: StubServer;
  notifier: Notifier;
  registry: Registry;
  server: Listening;
  /** A match the stub knows, and its created event published. Returns the event id. */
  publish<T extends EventType>(
    type: T,
    data: EventDataMap[T],
    id?: string,
    /** Partition key. @defaultValue the match id */
    key?: string,
  ): Promise<string>;
  newMatch(): MatchView;
  metric(name: string, labels: string): Promise<number | undefined>;
  close(): Promise<void>;
}

export async function startNotifierHarness(
  options: { http?: Partial<HttpPolicyOptions>; webhookUrl?: string; concurrency?: number } = {},
): Promise<NotifierHarness> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    closers.length = 0;
  };
  try {
    const matchService = await startStub();
    closers.push(() => matchService.close());
    const db = await createTestDatabase('notifier_test');
    closers.push(() => db.drop());
    const orm = await MikroORM.init(notifierOrmOptions(db.url));
    closers.push(() => orm.close(true));
    await migrate(orm);
    const nats = await connectTestNats();
    closers.push(() => nats.close());
    const stream = uniqueStreamName('NOTIFIER');
    const dlqStream = `${stream}_DLQ`;
    const prefix = stream.toLowerCase();
    const dlqPrefix = `${prefix}_dlq`;
    const jsm = await jetstreamManager(nats);
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] });
    await jsm.streams.add({ name: dlqStream, subjects: [`${dlqPrefix}.>`] });
    closers.push(() => deleteStreams(nats, stream, dlqStream));
    const registry = new Registry();
    const notifier = createNotifier({
      orm,
      nats,
      registry,
      logger: pino({ level: process.env.JETBOX_TEST_LOG ?? 'silent' }),
      config: {
        consumerName: 'notifier',
        concurrency: options.concurrency ?? 4,
        ackWaitMs: 30_000,
        stream,
        subjectPrefix: prefix,
        dlqSubjectPrefix: dlqPrefix,
        matchServiceUrl: matchService.url,
        webhookUrl: options.webhookUrl,
        http: {
          ...DEFAULT_HTTP_POLICY,
          timeoutMs: 500,
          initialBackoffMs: 20,
          maxBackoffMs: 100,
          breakerHalfOpenMs: 300,
          ...options.http,
        },
      },
      consumer: { maxDeliver: 3, backoff: { initialMs: 50, maxMs: 200 }, stopTimeoutMs: 3000 },
    });
    closers.push(() => notifier.consumer.stop());
    await notifier.consumer.start();
    const server = await listen(createApp({ orm, nats, registry }), 0, '127.0.0.1');
    closers.push(() => server.close(1000));
    const js = jetstream(nats);
    return {
      db,
      orm,
      nats,
      jsm,
      stream,
      dlqStream,
      prefix,
      dlqPrefix,
      matchService,
      notifier,
      registry,
      server,
      newMatch() {
        const match: MatchView = { id: uuidv7(), userIds: [uuidv7(), uuidv7()], status: 'active' };
        matchService.matches.set(match.id, match);
        return match;
      },
      async publish(type, data, id = uuidv7(), key = (data as { matchId: string }).matchId) {
        const { headers, data: body } = encodeCloudEvent(
          {
            specversion: '1.0',
            id,
            source: '/match-service',
            type,
            subject: key,
            time: new Date().toISOString(),
            dataschema: dataschemaOf(type),
            partitionkey: key,
            data,
          },
          { mode: 'binary' },
        );
        const segment = type.replace(/^com\.jetbox\./, '');
        // A fresh Nats-Msg-Id each time, so a test can publish one event id twice.
        await js.publish(`${prefix}.${segment}.0`, body, { headers, msgID: uuidv7() });
        return id;
      },
      async metric(name, labels) {
        const text = await registry.metrics();
        const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
        return line === undefined ? undefined : Number(line.split(' ').at(-1));
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
