import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../jetstream/connectNats.js';
import { natsOptionsFromEnv } from '../jetstream/natsOptions.js';
import { DEFAULT_DLQ_STREAM } from '../jetstream/streamsOptions.js';
import { listDeadLetters, type ListDeadLettersOptions } from '../dlq/listDeadLetters.js';
import { purgeDeadLetters } from '../dlq/purgeDeadLetters.js';
import { redriveDeadLetters } from '../dlq/redriveDeadLetters.js';
import { showDeadLetter } from '../dlq/showDeadLetter.js';
import type { CliEnv } from './cliConfig.js';
import { deadLetterDetail, deadLetterSummary } from './deadLetterJson.js';

interface FilterFlags {
  consumer?: string;
  type?: string;
  reason?: string;
  since?: string;
  until?: string;
  limit?: number;
}

function toDate(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new Error(`${flag} must be a date such as 2026-11-21T10:00:00Z, got ${value}`);
  return d;
}

function filters(
  stream: string,
  prefix: string | undefined,
  f: FilterFlags,
): ListDeadLettersOptions {
  return {
    stream,
    ...(prefix ? { subjectPrefix: prefix } : {}),
    ...(f.consumer ? { consumer: f.consumer } : {}),
    ...(f.type ? { type: f.type } : {}),
    ...(f.reason ? { reason: f.reason } : {}),
    ...(f.since ? { since: toDate('--since', f.since) } : {}),
    ...(f.until ? { until: toDate('--until', f.until) } : {}),
    ...(f.limit ? { limit: f.limit } : {}),
  };
}

/** `jetbox dlq ls|show|redrive|purge`. */
export function addDlqCommands(
  program: Command,
  env: () => CliEnv,
  json: () => boolean,
  int: (name: string) => (v: string) => number,
): void {
  const dlqStream = () => env().dlqStream ?? DEFAULT_DLQ_STREAM;
  async function withNats<T>(fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
    const nc = await connectNats({
      ...natsOptionsFromEnv(process.env),
      servers: env().natsUrl.split(','),
      name: 'jetbox-cli',
      maxReconnectAttempts: 0,
    });
    try {
      return await fn(nc);
    } finally {
      await nc.close();
    }
  }
  const withFilters = (c: Command) =>
    c
      .option('--consumer <name>', 'only this consumer')
      .option('--type <type>', 'only this CloudEvent type')
      .option(
        '--reason <reason>',
        'only this reason (max-deliveries, invalid-data, unknown-type, …)',
      )
      .option('--since <time>', 'only dead-lettered at or after this time')
      .option('--until <time>', 'only dead-lettered before this time')
      .option('--limit <n>', 'at most this many', int('--limit'));

  const dlq = program.command('dlq').description('inspect, redrive and purge dead letters');
  withFilters(dlq.command('ls').description('list dead letters')).action(async (f: FilterFlags) => {
    const letters = await withNats((nc) =>
      listDeadLetters(nc, filters(dlqStream(), env().dlqSubjectPrefix, f)),
    );
    if (json()) console.log(JSON.stringify(letters.map(deadLetterSummary)));
    else if (letters.length === 0) console.log('no dead letters');
    else
      for (const l of letters)
        console.log(
          `${l.seq}\t${l.deadLetteredAt.toISOString()}\t${l.consumer}\t${l.type ?? '-'}\t${l.reason}\t${l.error.split('\n')[0]}`,
        );
  });

  dlq
    .command('show <seq>')
    .description('one dead letter: headers, body and error')
    .action(async (seq: string) => {
      const l = await withNats((nc) => showDeadLetter(nc, dlqStream(), int('<seq>')(seq)));
      const { headers, body } = deadLetterDetail(l);
      if (json()) console.log(JSON.stringify(deadLetterDetail(l)));
      else
        console.log(
          [
            ...Object.entries(deadLetterSummary(l)).map(([k, v]) => `${k}: ${String(v)}`),
            'headers:',
            ...Object.entries(headers).map(([k, v]) => `  ${k}: ${v}`),
            'body:',
            body,
            'stack:',
            l.stack,
          ].join('\n'),
        );
    });

  withFilters(
    dlq
      .command('redrive [seq...]')
      .description(
        'send dead letters back to their original subject (safe to interrupt and re-run)',
      ),
  ).action(async (seqs: string[], f: FilterFlags) => {
    const bar =
      json() || !process.stderr.isTTY
        ? null
        : new SingleBar(
            { format: 'redrive [{bar}] {value}/{total}', stream: process.stderr },
            Presets.shades_classic,
          );
    const result = await withNats((nc) =>
      redriveDeadLetters(nc, {
        ...filters(dlqStream(), env().dlqSubjectPrefix, f),
        ...(seqs.length > 0 ? { seqs: seqs.map((s) => int('<seq>')(s)) } : {}),
        onProgress: (done, total) => {
          if (!bar) return;
          if (done === 1) bar.start(total, 0);
          bar.update(done);
        },
      }),
    );
    bar?.stop();
    console.log(
      json()
        ? JSON.stringify(result)
        : `redrove ${result.redriven} dead letter(s) (${result.duplicates} already redriven before)`,
    );
  });

  dlq
    .command('purge')
    .description('delete dead letters for good')
    .option('--consumer <name>', "only this consumer's")
    .option('--yes', 'confirm: without it nothing is deleted')
    .action(async (f: { consumer?: string; yes?: boolean }) => {
      if (!f.yes) throw new Error('purge deletes dead letters for good: add --yes to confirm');
      const n = await withNats((nc) =>
        purgeDeadLetters(nc, {
          stream: dlqStream(),
          ...(env().dlqSubjectPrefix ? { subjectPrefix: env().dlqSubjectPrefix } : {}),
          ...(f.consumer ? { consumer: f.consumer } : {}),
        }),
      );
      console.log(json() ? JSON.stringify({ purged: n }) : `purged ${n} dead letter(s)`);
    });
}
