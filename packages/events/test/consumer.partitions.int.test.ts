import { expect } from 'chai';
import { jetstreamManager } from '@nats-io/jetstream';
import { v7 as uuidv7 } from 'uuid';
import { NonRetryableError } from '../src/consumer/NonRetryableError.js';
import { DeadLetterHeader } from '../src/consumer/deadLetterHeaders.js';
import { partitionOf } from '../src/jetstream/subjects.js';
import { listDeadLetters } from '../src/dlq/listDeadLetters.js';
import { createConsumerHarness, waitFor, type ConsumerHarness } from './consumerHarness.js';

const PARTITIONS = 8;
const KEYS = 40;
const PER_KEY = 10;
const TOTAL = KEYS * PER_KEY;

describe('consumer: disjoint partitions across instances (PostgreSQL + NATS)', function () {
  this.timeout(60_000);
  let h: ConsumerHarness;

  before(async () => {
    h = await createConsumerHarness();
    await h.sql(
      'create table applied (id bigserial primary key, key text not null, n int not null, instance text not null, subject text not null)',
    );
  });

  afterEach(async () => h.assertStopped());

  after(async () => h?.close());

  it(`two instances with disjoint partitions apply ${TOTAL} events once each, in per-key order; a later layout re-applies nothing`, async () => {
    const keys = Array.from({ length: KEYS }, () => uuidv7());
    const partitionsOf = new Set(keys.map((k) => partitionOf(k, PARTITIONS)));
    expect(partitionsOf.size, 'keys cover every partition').to.equal(PARTITIONS);
    for (let n = 0; n < PER_KEY; n++) {
      await Promise.all(
        keys.map((key) =>
          h.publish(
            'com.jetbox.match.created',
            { matchId: key, userIds: [uuidv7(), uuidv7()], region: String(n) },
            { key, partition: partitionOf(key, PARTITIONS) },
          ),
        ),
      );
    }
    const doomedKey = keys[0]!;
    const instance = (label: string, partitions: number[]) =>
      h.consumer({
        name: 'part',
        subjects: `${h.prefix}.match.>`,
        partitions,
        concurrency: 3,
        batchSize: 8,
        handlers: {
          'com.jetbox.match.created': async (data, ctx) => {
            if (data.region === 'doomed') throw new NonRetryableError('doomed');
            await ctx.em.execute(
              'insert into applied (key, n, instance, subject) values (?, ?, ?, ?)',
              [data.matchId, Number(data.region), label, ctx.delivery.subject],
            );
          },
        },
      });
    const a = instance('a', [0, 1, 2, 3]);
    const b = instance('b', [4, 5, 6, 7]);
    expect(a.durables).to.deep.equal(['part-p0', 'part-p1', 'part-p2', 'part-p3']);
    let processed = 0;
    for (const c of [a, b]) c.events.on('consumer:processed', () => processed++);
    await Promise.all([a.start(), b.start()]);
    // One dead letter, to show it carries the logical name.
    await h.publish(
      'com.jetbox.match.created',
      { matchId: doomedKey, userIds: [uuidv7(), uuidv7()], region: 'doomed' },
      { key: doomedKey, partition: partitionOf(doomedKey, PARTITIONS) },
    );
    await waitFor(`${TOTAL} processed`, () => processed === TOTAL, 40_000);
    await waitFor('acks', async () => {
      const [ia, ib] = await Promise.all([a.info(), b.info()]);
      return ia.num_ack_pending + ib.num_ack_pending + ia.num_pending + ib.num_pending === 0;
    });
    await Promise.all([a.stop(), b.stop()]);

    const rows = await h.sql<{ key: string; ns: number[]; instances: string[] }>(
      'select key, array_agg(n order by id) as ns, array_agg(distinct instance) as instances from applied group by key',
    );
    expect(rows).to.have.length(KEYS);
    const expected = Array.from({ length: PER_KEY }, (_, i) => i);
    for (const row of rows) {
      expect(row.ns, `key ${row.key}`).to.deep.equal(expected);
      const owner = partitionOf(row.key, PARTITIONS) < 4 ? 'a' : 'b';
      expect(row.instances, `key ${row.key}`).to.deep.equal([owner]);
    }
    const subjects = await h.sql<{ instance: string; p: number }>(
      "select distinct instance, split_part(subject, '.', 4)::int as p from applied order by 1, 2",
    );
    expect(subjects.filter((s) => s.instance === 'a').map((s) => s.p)).to.deep.equal([0, 1, 2, 3]);
    expect(subjects.filter((s) => s.instance === 'b').map((s) => s.p)).to.deep.equal([4, 5, 6, 7]);
    const inbox = await h.sql<{ consumer: string; n: number }>(
      'select consumer, count(*)::int as n from jetbox_inbox group by consumer',
    );
    expect(inbox).to.deep.equal([{ consumer: 'part', n: TOTAL }]);
    const [letter, ...more] = await listDeadLetters(h.nc, {
      stream: h.dlqStream,
      subjectPrefix: h.dlqPrefix,
      consumer: 'part',
    });
    expect(more).to.have.length(0);
    expect(letter!.headers?.get(DeadLetterHeader.Consumer)).to.equal('part');

    // All partitions through one durable of the same logical name: a new durable that reads
    // the whole stream again, and the inbox skips every event.
    const whole = h.consumer({
      name: 'part',
      subjects: `${h.prefix}.match.>`,
      handlers: {
        'com.jetbox.match.created': async (data, ctx) => {
          if (data.region === 'doomed') throw new NonRetryableError('doomed');
          await ctx.em.execute(
            'insert into applied (key, n, instance, subject) values (?, ?, ?, ?)',
            [data.matchId, Number(data.region), 'whole', ctx.delivery.subject],
          );
        },
      },
    });
    let duplicates = 0;
    whole.events.on('consumer:duplicate', () => duplicates++);
    await whole.start();
    await waitFor(`${TOTAL} duplicates`, () => duplicates === TOTAL, 20_000);
    await whole.stop();
    expect(await h.sql('select 1 from applied where instance = ?', ['whole'])).to.have.length(0);
    const jsm = await jetstreamManager(h.nc);
    const durables: string[] = [];
    for await (const c of jsm.consumers.list(h.stream)) durables.push(c.name);
    expect(durables.sort()).to.deep.equal(['part', ...a.durables, ...b.durables].sort());
  });
});
