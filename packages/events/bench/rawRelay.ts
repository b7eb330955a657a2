/**
 * The latency ceiling of `npm run bench:relay`: the least a relay can do, as its own process.
 * One session LISTENs for the outbox's NOTIFY (and polls every second); each wake-up reads the
 * oldest pending rows, publishes them pipelined (the relay's encoder and PubAck pipeline), and
 * marks them published in one update. No partitions, leases, per-aggregate holds, retries,
 * backoff, metrics or second relay: a single process that gives up on the first error.
 * Environment: DATABASE_URL, NATS_URL. Stops on SIGTERM.
 */
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { createPubAckPublisher } from '../src/relay/createPubAckPublisher.js';
import { encodeOutboxRow } from '../src/relay/encodeOutboxRow.js';
import type { ClaimedRow } from '../src/relay/outboxSql.js';
import { relaySessionConfig } from '../src/relay/relaySession.js';
import { RAW_MARK_PUBLISHED } from './benchProducers.js';

const BATCH = 500;
const databaseUrl = process.env.DATABASE_URL;
const natsUrl = process.env.NATS_URL;
if (!databaseUrl || !natsUrl) throw new Error('DATABASE_URL and NATS_URL must be set');

// The relay's session settings (index paths only, marks without waiting for their WAL flush).
const db = new pg.Client({
  ...relaySessionConfig(databaseUrl),
  application_name: 'jetbox-bench-raw-relay',
});
await db.connect();
const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
const publisher = createPubAckPublisher(nc, 10_000);

let wanted = true;
let running = false;
const fail = (err: unknown) => {
  console.error('raw relay failed:', err);
  process.exit(1);
};

async function relay(): Promise<void> {
  if (running) return;
  running = true;
  try {
    while (wanted) {
      wanted = false;
      const { rows } = await db.query<
        Pick<
          ClaimedRow,
          | 'id'
          | 'source'
          | 'type'
          | 'aggregate_id'
          | 'created_at'
          | 'dataschema'
          | 'headers'
          | 'data'
          | 'nats_subject'
        >
      >(
        `select id, source, type, aggregate_id, created_at, dataschema, headers, data::text as data,
                nats_subject
         from jetbox_outbox where status = 'pending' order by seq limit ${BATCH}`,
      );
      if (rows.length === 0) continue;
      const seqs = await Promise.all(
        rows.map(
          (row) =>
            new Promise<number>((resolve, reject) => {
              const message = encodeOutboxRow(row);
              publisher.publish(
                row.nats_subject,
                message.data,
                message.headers,
                row.id,
                (e, ack) => (e ? reject(e) : resolve(ack!.seq)),
              );
            }),
        ),
      );
      await db.query(RAW_MARK_PUBLISHED, [rows.map((r) => r.id), seqs]);
      if (rows.length === BATCH) wanted = true;
    }
  } finally {
    running = false;
  }
}

const wake = () => {
  wanted = true;
  relay().catch(fail);
};
db.on('notification', wake);
db.on('error', fail);
await db.query('listen jetbox_outbox');
const poll = setInterval(wake, 1000);
wake();

process.once('SIGTERM', () => {
  clearInterval(poll);
  publisher.close();
  void Promise.allSettled([db.end(), nc.close()]).then(() => process.exit(0));
});
