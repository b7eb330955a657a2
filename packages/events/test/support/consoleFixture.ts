import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { createConsoleApp, type ConsoleApp } from '../../src/console/createConsoleApp.js';
import type { ConsoleOptionsInput } from '../../src/console/consoleOptions.js';
import { NonRetryableError } from '../../src/consumer/NonRetryableError.js';
import { listDeadLetters } from '../../src/dlq/listDeadLetters.js';
import { waitFor } from '../../src/testing/index.js';
import { createConsumerHarness, type ConsumerHarness } from '../consumerHarness.js';

export const CONSOLE_CONSUMER = 'console_c';
export const HANDLER_ERROR = 'the notification service rejected <b>this</b> match';

/** A test database and streams with a consumer whose handler fails while `failing` is set. */
export interface ConsoleFixture {
  h: ConsumerHarness;
  pool: pg.Pool;
  /** A token long enough for the console to accept. */
  token: string;
  /** While true the handler throws a `NonRetryableError`, so each event is dead-lettered at once. */
  failing: boolean;
  /** Publishes a match.created the failing handler dead-letters; resolves with its dead letter. */
  deadLetter(region?: string): Promise<{ seq: number; eventId: string; matchId: string }>;
  /** Inserts `count` pending outbox rows (no relay runs, so they stay pending). */
  insertPending(count: number): Promise<void>;
  /** Event ids the handler has applied. */
  effects(): Promise<string[]>;
  /** A console over the fixture's database and streams, listening on a free loopback port. */
  startConsole(options?: Partial<ConsoleOptionsInput>): Promise<{ app: ConsoleApp; url: string }>;
  close(): Promise<void>;
}

export async function createConsoleFixture(): Promise<ConsoleFixture> {
  const h = await createConsumerHarness();
  await h.sql('create table console_effects (event_id uuid primary key, match_id uuid not null)');
  const pool = new pg.Pool({ connectionString: h.db.url, max: 4 });
  const apps: ConsoleApp[] = [];
  const fixture: ConsoleFixture = {
    h,
    pool,
    token: `test-token-${uuidv7()}`,
    failing: true,
    async deadLetter(region = 'eu') {
      const before = new Set((await letters()).map((l) => l.seq));
      const matchId = uuidv7();
      const eventId = await h.publish('com.jetbox.match.created', {
        matchId,
        userIds: [uuidv7(), uuidv7()],
        region,
      });
      let seq = 0;
      await waitFor('the event to be dead-lettered', async () => {
        const fresh = (await letters()).find((l) => !before.has(l.seq) && l.eventId === eventId);
        seq = fresh?.seq ?? 0;
        return seq > 0;
      });
      return { seq, eventId, matchId };
    },
    async insertPending(count) {
      for (let i = 0; i < count; i++) {
        const id = uuidv7();
        await pool.query(
          `insert into jetbox_outbox (id, aggregate_type, aggregate_id, partition, type, source, dataschema, nats_subject, data)
           values ($1::uuid, 'match', $1::text, 0, 'com.jetbox.match.created', '/console-test',
                   'urn:jetbox:schema:com.jetbox.match.created:v1', $2, $3)`,
          [
            id,
            `${h.prefix}.match.created.0`,
            { matchId: id, userIds: [uuidv7(), uuidv7()], region: 'eu' },
          ],
        );
      }
    },
    async effects() {
      const { rows } = await pool.query<{ event_id: string }>(
        'select event_id from console_effects order by event_id',
      );
      return rows.map((r) => r.event_id);
    },
    async startConsole(options = {}) {
      const app = createConsoleApp({
        db: pool,
        nats: h.nc,
        stream: h.stream,
        dlqStream: h.dlqStream,
        dlqSubjectPrefix: h.dlqPrefix,
        sampleIntervalMs: 200,
        refreshMs: 300,
        ...options,
      });
      apps.push(app);
      return { app, url: await app.listen(0) };
    },
    async close() {
      await Promise.all(apps.map((a) => a.close()));
      await pool.end();
      await h.close();
    },
  };
  const letters = () => listDeadLetters(h.nc, { stream: h.dlqStream, subjectPrefix: h.dlqPrefix });
  const consumer = h.consumer({
    name: CONSOLE_CONSUMER,
    subjects: [`${h.prefix}.>`],
    handlers: {
      'com.jetbox.match.created': async (data, ctx) => {
        if (fixture.failing) throw new NonRetryableError(HANDLER_ERROR);
        await ctx.em.execute('insert into console_effects (event_id, match_id) values (?, ?)', [
          ctx.event.id,
          data.matchId,
        ]);
      },
    },
  });
  await consumer.start();
  return fixture;
}
