import { randomBytes } from 'node:crypto';
import type { EventDataMap, EventType } from '@jetbox/schemas';
import { dataschemaOf } from '@jetbox/schemas';
import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { encodeCloudEvent } from '../src/cloudevents/encodeCloudEvent.js';
import { createConsumer, type Consumer } from '../src/consumer/createConsumer.js';
import type { ConsumerOptionsInput } from '../src/consumer/consumerOptions.js';
import { InboxMessageSchema } from '../src/inbox/InboxMessage.js';
import { Migration20261121000000JetboxTables } from '../src/migrations/Migration20261121000000JetboxTables.js';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  uniqueStreamName,
  type TestDatabase,
} from '../src/testing/index.js';

/** One database, one events stream and one dead-letter stream for a test file. */
export interface ConsumerHarness {
  db: TestDatabase;
  orm: MikroORM;
  nc: NatsConnection;
  js: JetStreamClient;
  stream: string;
  dlqStream: string;
  /** Events subjects: `<prefix>.match.created.<partition>`. */
  prefix: string;
  dlqPrefix: string;
  logger: pino.Logger;
  /** Consumers made with `consumer()`; `close()` fails if one is still running. */
  consumers: Consumer[];
  consumer(
    options: Omit<ConsumerOptionsInput, 'orm' | 'nats' | 'stream'> & Partial<ConsumerOptionsInput>,
  ): Consumer;
  publish<T extends EventType>(
    type: T,
    data: EventDataMap[T],
    extra?: PublishExtra,
  ): Promise<string>;
  publishRaw(
    subject: string,
    body: string | Uint8Array,
    headers?: Record<string, string>,
  ): Promise<void>;
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
  /** Fails when a consumer made here is still running; stops it either way. */
  assertStopped(): Promise<void>;
  close(): Promise<void>;
}

export interface PublishExtra {
  key?: string;
  id?: string;
  version?: number;
  mode?: 'binary' | 'structured';
  partition?: number;
}

export interface ConsumerHarnessOptions {
  /** NATS server(s). @defaultValue the test NATS server */
  natsServers?: string;
  /** The URL the ORM connects with, from the test database's (e.g. through a proxy). */
  clientUrl?: (dbUrl: string) => string;
}

export async function createConsumerHarness(
  options: ConsumerHarnessOptions = {},
): Promise<ConsumerHarness> {
  const db = await createTestDatabase('jetbox_consumer');
  const orm = await MikroORM.init(
    defineConfig({
      clientUrl: options.clientUrl ? options.clientUrl(db.url) : db.url,
      entities: [InboxMessageSchema],
      pool: { min: 0, max: 10 },
      allowGlobalContext: false,
      debug: false,
    }),
  );
  const migration = new Migration20261121000000JetboxTables(orm.em.getDriver(), orm.config);
  void migration.up();
  for (const query of migration.getQueries()) await orm.em.getConnection().execute(query as string);
  const nc = options.natsServers
    ? await connect({
        servers: options.natsServers,
        noAsyncTraces: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 100,
      })
    : await connectTestNats();
  const jsm = await jetstreamManager(nc);
  const stream = uniqueStreamName('JBC');
  const dlqStream = uniqueStreamName('JBC_DLQ');
  const tag = randomBytes(4).toString('hex');
  const prefix = `ev_${tag}`;
  const dlqPrefix = `dlq_${tag}`;
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] });
  await jsm.streams.add({ name: dlqStream, subjects: [`${dlqPrefix}.>`] });
  const js = jetstream(nc);
  const logger = pino({ level: process.env.JETBOX_TEST_LOG ?? 'silent' });
  const consumers: Consumer[] = [];

  const sql = async <T>(query: string, params: unknown[] = []): Promise<T[]> =>
    orm.em.fork().getConnection().execute<T[]>(query, params);

  const harness: ConsumerHarness = {
    db,
    orm,
    nc,
    js,
    stream,
    dlqStream,
    prefix,
    dlqPrefix,
    logger,
    consumers,
    consumer(options) {
      const c = createConsumer({
        orm,
        nats: nc,
        stream,
        logger,
        deadLetterSubjectPrefix: dlqPrefix,
        ...options,
      });
      consumers.push(c);
      return c;
    },
    async publish(type, data, extra = {}) {
      const id = extra.id ?? uuidv7();
      const key = extra.key ?? (data as { matchId: string }).matchId;
      const segment = type.replace(/^com\.jetbox\./, '');
      const { headers, data: body } = encodeCloudEvent(
        {
          specversion: '1.0',
          id,
          source: '/test',
          type,
          subject: key,
          time: new Date().toISOString(),
          dataschema: dataschemaOf(type, extra.version),
          partitionkey: key,
          data,
        },
        { mode: extra.mode ?? 'binary' },
      );
      await js.publish(`${prefix}.${segment}.${extra.partition ?? 0}`, body, {
        headers,
        msgID: id,
      });
      return id;
    },
    async publishRaw(subject, body, hdrs = {}) {
      const { headers } = await import('@nats-io/nats-core');
      const h = headers();
      for (const [k, v] of Object.entries(hdrs)) h.set(k, v);
      await js.publish(`${prefix}.${subject}`, body, { headers: h });
    },
    sql,
    async assertStopped() {
      const running = consumers.filter((c) => c.running).map((c) => c.options.name);
      await Promise.all(consumers.map((c) => c.stop()));
      consumers.length = 0;
      if (running.length > 0) throw new Error(`consumer(s) left running: ${running.join(', ')}`);
    },
    async close() {
      await Promise.all(consumers.map((c) => c.stop()));
      await deleteStreams(nc, stream, dlqStream);
      await nc.close();
      await orm.close(true);
      await db.drop();
    },
  };
  return harness;
}

/** Polls `check` until it returns true, failing after `timeoutMs` with `what`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function newMatch(): EventDataMap['com.jetbox.match.created'] {
  return { matchId: uuidv7(), userIds: [uuidv7(), uuidv7()], region: 'eu' };
}

/** Publishes `rounds` events per key, round by round: each key in order, keys interleaved. */
export async function publishRounds(h: ConsumerHarness, keys: string[], rounds: number, from = 0) {
  for (let n = from; n < from + rounds; n++) {
    await Promise.all(
      keys.map((key) =>
        h.publish(
          'com.jetbox.match.created',
          { matchId: key, userIds: [uuidv7(), uuidv7()], region: String(n) },
          { key },
        ),
      ),
    );
  }
}
