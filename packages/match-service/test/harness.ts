import { createRelay, migrate, type Outbox, type Relay } from '@jetbox/events';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  uniqueStreamName,
  type TestDatabase,
} from '@jetbox/events/testing';
import { MikroORM } from '@mikro-orm/postgresql';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { createApp } from '../src/app.js';
import { listen, type Listening } from '@jetbox/service-kit';
import { createMatchOutbox } from '../src/matchOutbox.js';
import { matchOrmOptions } from '../src/ormOptions.js';

export const PARTITIONS = 4;

/** match-service on port 0 with its own database, stream and subject prefix. */
export interface Harness {
  db: TestDatabase;
  orm: MikroORM;
  nats: NatsConnection;
  jsm: JetStreamManager;
  outbox: Outbox;
  relay: Relay | undefined;
  stream: string;
  subjectPrefix: string;
  server: Listening;
  errors: unknown[];
  close(): Promise<void>;
}

export async function startHarness(options: { relay?: boolean } = {}): Promise<Harness> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    closers.length = 0;
  };
  try {
    const db = await createTestDatabase('match_service_test');
    closers.push(() => db.drop());
    const nats = await connectTestNats();
    closers.push(() => nats.close());
    const stream = uniqueStreamName('MATCH_SVC');
    // The stream's subjects must not overlap any other test file's (`events.>` included).
    const subjectPrefix = stream.toLowerCase();
    const jsm = await jetstreamManager(nats);
    await jsm.streams.add({ name: stream, subjects: [`${subjectPrefix}.>`] });
    closers.push(() => deleteStreams(nats, stream));
    const outbox = createMatchOutbox({ partitions: PARTITIONS, subjectPrefix });
    const orm = await MikroORM.init(matchOrmOptions(db.url, outbox));
    closers.push(() => orm.close(true));
    await migrate(orm);
    const registry = new Registry();
    let relay: Relay | undefined;
    if (options.relay !== false) {
      const started = createRelay({
        databaseUrl: db.url,
        nats,
        outbox,
        stream,
        registry,
        pollIntervalMs: 200,
      });
      relay = started;
      closers.push(() => started.stop());
      await started.start();
    }
    const errors: unknown[] = [];
    const app = createApp({ orm, nats, registry, log: { error: (obj) => errors.push(obj) } });
    const server = await listen(app, 0, '127.0.0.1');
    closers.push(() => server.close(2000));
    return { db, orm, nats, jsm, outbox, relay, stream, subjectPrefix, server, errors, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The JSON bodies the API answers with, loosely: each test reads the fields it expects. */
export interface ReplyBody {
  id?: string;
  status?: unknown;
  matchId?: string;
  userIds?: string[];
  reason?: unknown;
  cancelledAt?: string;
  items?: { id: string }[];
  nextCursor?: string | null;
  title?: string;
  detail?: string;
  errors?: { field: string; message: string }[];
  [key: string]: unknown;
}

export interface Reply {
  status: number;
  contentType: string;
  headers: Headers;
  /** The parsed JSON body (empty object when the body is not JSON). */
  body: ReplyBody;
  text: string;
}

/** One HTTP call; `body` objects are sent as JSON, strings and buffers as they are. */
export async function call(
  h: Harness,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const raw =
    body === undefined || typeof body === 'string' || body instanceof Uint8Array
      ? body
      : JSON.stringify(body);
  const res = await fetch(`${h.server.url}${path}`, {
    method,
    headers: raw === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: raw,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: ReplyBody = {};
  try {
    if (text) parsed = JSON.parse(text) as ReplyBody;
  } catch {
    // not JSON: read `text`
  }
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    headers: res.headers,
    body: parsed,
    text,
  };
}

export interface RowCounts {
  users: number;
  requests: number;
  matches: number;
  cancelled: number;
  outbox: number;
}

export async function rowCounts(h: Harness): Promise<RowCounts> {
  const [row] = await h.orm.em
    .fork()
    .getConnection()
    .execute<RowCounts[]>(
      `select (select count(*) from users)::int as users,
            (select count(*) from match_requests)::int as requests,
            (select count(*) from matches)::int as matches,
            (select count(*) from matches where status = 'cancelled')::int as cancelled,
            (select count(*) from jetbox_outbox)::int as outbox`,
    );
  return row!;
}

export interface StreamEvent {
  subject: string;
  type: string;
  id: string;
  data: { matchId: string; userIds: string[]; [k: string]: unknown };
}

/** Every message of the harness's stream, once `until` holds for them (or after 10 s). */
export async function streamEvents(
  h: Harness,
  until: (events: StreamEvent[]) => boolean,
): Promise<StreamEvent[]> {
  const deadline = Date.now() + 10_000;
  let events: StreamEvent[] = [];
  for (;;) {
    events = await readStream(h);
    if (until(events) || Date.now() > deadline) return events;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function readStream(h: Harness): Promise<StreamEvent[]> {
  const count = (await h.jsm.streams.info(h.stream)).state.messages;
  const out: StreamEvent[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const m = await h.jsm.streams.getMessage(h.stream, { seq });
    if (!m) continue;
    out.push({
      subject: m.subject,
      type: m.header.get('ce-type'),
      id: m.header.get('ce-id'),
      data: m.json(),
    });
  }
  return out;
}
