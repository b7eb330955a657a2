#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import pg from 'pg';
import { isJetboxError } from '../errors.js';
import { requeueFailed } from '../relay/requeueFailed.js';
import { readCliEnv, type CliEnv } from './cliConfig.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { applyStreams, streamsStatus } from '../jetstream/applyStreams.js';
import { connectNats } from '../jetstream/connectNats.js';
import { natsOptionsFromEnv } from '../jetstream/natsOptions.js';
import { resolveStreamsOptions } from '../jetstream/streamsOptions.js';
import { runRelay } from './runRelay.js';
import { addConsumersApply } from './consumersApply.js';
import { addDlqCommands } from './dlqCommands.js';
import { consumerStats } from './consumerStats.js';
import { outboxStatus } from './outboxStatus.js';

/** Exit codes: 0 ok, 1 the operation failed, 2 bad usage or configuration. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const int = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

async function withPool<T>(url: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

const program = new Command('jetbox')
  .description(
    'Operate jetbox: migrations, streams, consumers, the outbox relay, outbox status, dead letters, the web console.\nConfiguration: DATABASE_URL, NATS_URL (and NATS_USER/NATS_PASSWORD/NATS_TOKEN/NATS_CREDS/NATS_NKEY/NATS_TLS_*), JETBOX_STREAM, JETBOX_SUBJECT_PREFIX, JETBOX_DLQ_STREAM, JETBOX_DLQ_SUBJECT_PREFIX, JETBOX_STREAM_REPLICAS, JETBOX_PARTITIONS, JETBOX_CONSOLE_TOKEN.',
  )
  .option('--database-url <url>', 'PostgreSQL URL (default: $DATABASE_URL)')
  .option('--nats-url <urls>', 'NATS servers, comma-separated (default: $NATS_URL)')
  .option('--json', 'machine-readable output')
  .showHelpAfterError()
  .exitOverride();

function env() {
  const o = program.opts<{ databaseUrl?: string; natsUrl?: string }>();
  const e = readCliEnv();
  return { ...e, databaseUrl: o.databaseUrl ?? e.databaseUrl, natsUrl: o.natsUrl ?? e.natsUrl };
}
const json = () => program.opts<{ json?: boolean }>().json === true;

program
  .command('migrate')
  .description("apply jetbox's migrations (jetbox_outbox, jetbox_inbox)")
  .action(async () => {
    // MikroORM is loaded only for this command: the relay process stays small without it.
    const [{ withOrm }, { migrate }] = await Promise.all([
      import('./withOrm.js'),
      import('../orm/jetboxOrmOptions.js'),
    ]);
    const applied = await withOrm(env().databaseUrl, (orm) => migrate(orm));
    console.log(
      json()
        ? JSON.stringify({ applied })
        : applied.length
          ? `applied: ${applied.join(', ')}`
          : 'up to date',
    );
  });

program
  .command('relay')
  .description('run a standalone outbox relay until SIGINT/SIGTERM')
  .option('--batch-size <n>', 'rows per batch', int('--batch-size'))
  .option('--poll-interval <ms>', 'safety-net sweep interval', int('--poll-interval'))
  .option('--max-attempts <n>', 'attempts before a row is failed', int('--max-attempts'))
  .action(async (flags: { batchSize?: number; pollInterval?: number; maxAttempts?: number }) => {
    await runRelay(env(), flags);
  });

function streamsOptions(e: CliEnv) {
  const replicas = e.replicas !== undefined ? { replicas: e.replicas } : {};
  return resolveStreamsOptions({
    events: { name: e.stream, subjects: [`${e.subjectPrefix}.>`], ...replicas },
    deadLetter: {
      ...(e.dlqStream ? { name: e.dlqStream } : {}),
      ...(e.dlqSubjectPrefix ? { subjects: [`${e.dlqSubjectPrefix}.>`] } : {}),
      ...replicas,
    },
  });
}

async function withJsm<T>(
  e: CliEnv,
  fn: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>,
): Promise<T> {
  const nc = await connectNats({
    ...natsOptionsFromEnv(process.env),
    servers: e.natsUrl.split(','),
    name: 'jetbox-cli',
    maxReconnectAttempts: 0,
  });
  try {
    return await fn(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

const streams = program
  .command('streams')
  .description('declare JetStream streams from configuration');
streams
  .command('apply')
  .description('create or update the events and dead-letter streams (idempotent)')
  .action(async () => {
    const e = env();
    const results = await withJsm(e, (jsm) => applyStreams(jsm, streamsOptions(e)));
    if (json()) console.log(JSON.stringify(results));
    else
      for (const r of results)
        console.log(`${r.name}: ${r.action}${r.drift.length ? ` (${r.drift.join('; ')})` : ''}`);
  });
streams
  .command('status')
  .description(
    'show drift between the declared and the actual streams; changes nothing (exit 1 on drift)',
  )
  .action(async () => {
    const e = env();
    const results = await withJsm(e, (jsm) => streamsStatus(jsm, streamsOptions(e)));
    if (json()) console.log(JSON.stringify(results));
    else
      for (const r of results)
        console.log(
          `${r.name}: ${r.exists ? (r.drift.length ? `drift: ${r.drift.join('; ')}` : 'in sync') : 'missing'}${r.refusal ? ` (cannot apply: ${r.refusal})` : ''}`,
        );
    if (results.some((r) => r.action !== 'unchanged')) process.exitCode = EXIT_FAILED;
  });

const consumers = program
  .command('consumers')
  .description('durable consumers of the events stream');
addConsumersApply(consumers, env, json, int, withJsm);
consumers
  .command('ls')
  .description(
    'each durable consumer with its lag (pending), unacknowledged and redelivered counts',
  )
  .action(async () => {
    const e = env();
    const rows = await withJsm(e, (jsm) => consumerStats(jsm, e.stream));
    if (json()) console.log(JSON.stringify(rows));
    else if (rows.length === 0) console.log(`no consumers on ${e.stream}`);
    else
      for (const r of rows)
        console.log(
          `${r.name}\tlag ${r.pending}\tunacked ${r.ackPending}\tredelivered ${r.redelivered}\t${r.filter}`,
        );
  });

const outbox = program.command('outbox').description('inspect and repair the outbox');
outbox
  .command('status')
  .description('backlog, age of the oldest pending row, failed rows by type')
  .action(async () => {
    const status = await withPool(env().databaseUrl, outboxStatus);
    if (json()) console.log(JSON.stringify(status));
    else {
      console.log(
        `pending: ${status.pending}  failed: ${status.failed}  oldest pending: ${status.oldestPendingAgeSeconds.toFixed(1)} s`,
      );
      for (const r of status.byType) console.log(`  ${r.type}  ${r.status}  ${r.n}`);
    }
  });
outbox
  .command('retry-failed')
  .description('put failed rows back to pending with fresh attempts')
  .option('--type <type>', 'only rows of this CloudEvent type')
  .option('--id <id...>', 'only these rows')
  .action(async (flags: { type?: string; id?: string[] }) => {
    const n = await withPool(env().databaseUrl, (pool) =>
      requeueFailed(pool, { type: flags.type, ids: flags.id }),
    );
    console.log(json() ? JSON.stringify({ requeued: n }) : `requeued ${n} failed row(s)`);
  });

addDlqCommands(program, env, json, int);

program
  .command('console')
  .description(
    'serve the operator web console: outbox backlog, consumers, dead letters, redrive.\nAdmin actions need JETBOX_CONSOLE_TOKEN (sent as Authorization: Bearer); without it the console is read-only.',
  )
  .option('--port <n>', 'port to listen on, 0 for any free one (default: 8088)', (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new InvalidArgumentError('--port must be an integer from 0 to 65535');
    return n;
  })
  .option('--host <host>', 'address to listen on (default: 127.0.0.1)')
  .action(async (flags: { port?: number; host?: string }) => {
    // Koa is loaded only for this command, like MikroORM for migrate.
    const { runConsole } = await import('./runConsole.js');
    await runConsole(env(), flags);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (e.code?.startsWith('commander.')) process.exit(e.exitCode === 0 ? 0 : EXIT_USAGE);
  console.error(`jetbox: ${e.message ?? String(err)}`);
  process.exit(isJetboxError(err, 'INVALID_OPTIONS') ? EXIT_USAGE : EXIT_FAILED);
}
