import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { decodeCloudEvent } from '../../src/cloudevents/decodeCloudEvent.js';
import { createOutbox, type Outbox } from '../../src/outbox/createOutbox.js';
import { jetboxOrmOptions, migrate } from '../../src/orm/jetboxOrmOptions.js';
import { partitionOf } from '../../src/jetstream/subjects.js';
import {
  createTestDatabase,
  deleteStreams,
  uniqueName,
  uniqueStreamName,
  type TestDatabase,
} from '../../src/testing/index.js';

/** A database with jetbox's tables, an outbox writing to a unique subject prefix, and its stream. */
export interface RelayFixture {
  db: TestDatabase;
  orm: MikroORM;
  outbox: Outbox;
  stream: string;
  prefix: string;
  pool: pg.Pool;
  /** Inserts `count` valid match.created rows over `aggregates` aggregates, fast (plain SQL). */
  insertEvents(count: number, aggregates: number): Promise<{ id: string; aggregateId: string }[]>;
  /** Every message in the stream, decoded, in stream order. */
  readStream(): Promise<
    { seq: number; id: string; aggregateId: string; msgId: string | undefined }[]
  >;
  streamCount(): Promise<number>;
  /** True when no row is pending or failed. */
  allPublished(): Promise<boolean>;
  close(): Promise<void>;
}

export async function createRelayFixture(
  nc: NatsConnection,
  opts: { duplicateWindowMs?: number; partitions?: number } = {},
): Promise<RelayFixture> {
  const db = await createTestDatabase('jetbox_relay');
  const prefix = uniqueName('ev').replace(/_/g, '');
  const stream = uniqueStreamName('JETBOX_RELAY');
  const partitions = opts.partitions ?? 8;
  const outbox = createOutbox({ source: '/relay-test', partitions, subjectPrefix: prefix });
  const base = jetboxOrmOptions();
  const orm = await MikroORM.init(
    defineConfig({ ...base, clientUrl: db.url, subscribers: [outbox.subscriber] }),
  );
  await migrate(orm);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: stream,
    subjects: [`${prefix}.>`],
    duplicate_window: (opts.duplicateWindowMs ?? 120_000) * 1e6,
  });
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });

  async function insertEvents(count: number, aggregates: number) {
    const aggIds = Array.from({ length: aggregates }, () => uuidv7());
    const out: { id: string; aggregateId: string }[] = [];
    for (let start = 0; start < count; start += 5000) {
      const ids: string[] = [];
      const agg: string[] = [];
      const parts: number[] = [];
      const data: string[] = [];
      for (let i = start; i < Math.min(count, start + 5000); i++) {
        const a = aggIds[i % aggregates]!;
        const id = uuidv7();
        ids.push(id);
        agg.push(a);
        parts.push(partitionOf(a, partitions));
        data.push(JSON.stringify({ matchId: a, userIds: [uuidv7(), uuidv7()], region: `r${i}` }));
        out.push({ id, aggregateId: a });
      }
      await pool.query(
        `insert into jetbox_outbox (id, aggregate_type, aggregate_id, partition, type, source, dataschema, nats_subject, data)
         select v.id, 'match', v.agg, v.p, 'com.jetbox.match.created', '/relay-test',
                'urn:jetbox:schema:com.jetbox.match.created:v1', $5 || '.match.created.' || v.p, v.data::jsonb
         from unnest($1::uuid[], $2::text[], $3::int[], $4::text[]) with ordinality as v(id, agg, p, data, n) order by v.n`,
        [ids, agg, parts, data, prefix],
      );
    }
    return out;
  }

  async function readStream() {
    const info = await jsm.streams.info(stream);
    const total = info.state.messages;
    const out: { seq: number; id: string; aggregateId: string; msgId: string | undefined }[] = [];
    if (total === 0) return out;
    // An ordered consumer reads the whole stream in a few round trips, not one per message.
    const consumer = await jetstream(nc).consumers.get(stream);
    const messages = await consumer.consume({ max_messages: 1000 });
    const deadline = setTimeout(() => messages.stop(), 30_000);
    for await (const m of messages) {
      const ev = decodeCloudEvent({ headers: m.headers, data: m.data });
      out.push({
        seq: m.seq,
        id: ev.id,
        aggregateId: String(ev.partitionkey),
        msgId: m.headers?.get('Nats-Msg-Id'),
      });
      if (m.seq >= info.state.last_seq) break;
    }
    clearTimeout(deadline);
    await messages.close();
    return out;
  }

  return {
    db,
    orm,
    outbox,
    stream,
    prefix,
    pool,
    insertEvents,
    readStream,
    streamCount: async () => (await jsm.streams.info(stream)).state.messages,
    allPublished: async () =>
      (
        await pool.query<{ n: number }>(
          `select count(*)::int as n from jetbox_outbox where status <> 'published'`,
        )
      ).rows[0]!.n === 0,
    async close() {
      await pool.end();
      await orm.close(true);
      await deleteStreams(nc, stream);
      await db.drop();
    },
  };
}

/** Polls `check` every 50 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Per aggregate, the event ids in the order given. */
export function byAggregate(list: { id: string; aggregateId: string }[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const e of list) m.set(e.aggregateId, [...(m.get(e.aggregateId) ?? []), e.id]);
  return m;
}
