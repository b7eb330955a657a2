import type { Command } from 'commander';
import type { JetStreamManager } from '@nats-io/jetstream';
import {
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_MAX_ACK_PENDING,
  DEFAULT_MAX_DELIVER,
} from '../consumer/consumerOptions.js';
import { ensureConsumer } from '../consumer/ensureConsumer.js';
import { JetboxError } from '../errors.js';
import type { CliEnv } from './cliConfig.js';

interface ApplyFlags {
  name: string;
  subject?: string[];
  maxDeliver?: number;
  ackWait?: number;
  maxAckPending?: number;
}

/**
 * `jetbox consumers apply --name <durable> [--subject …]`: declares a durable consumer the way
 * `createConsumer` does (same defaults), so a deploy job can create it before any instance
 * runs (an autoscaler reads its lag) and the service's own start finds it unchanged.
 */
export function addConsumersApply(
  consumers: Command,
  env: () => CliEnv,
  json: () => boolean,
  int: (name: string) => (value: string) => number,
  withJsm: <T>(e: CliEnv, fn: (jsm: JetStreamManager) => Promise<T>) => Promise<T>,
): void {
  consumers
    .command('apply')
    .description('create or update a durable consumer of the events stream (idempotent)')
    .requiredOption('--name <durable>', 'durable consumer name (letters, digits, _ or -)')
    .option('--subject <subject...>', 'subject filter(s) (several need nats-server 2.10)')
    .option(
      '--max-deliver <n>',
      `attempts before dead-lettering (default ${DEFAULT_MAX_DELIVER})`,
      int('--max-deliver'),
    )
    .option(
      '--ack-wait <ms>',
      `redelivery delay of an unacknowledged message (default ${DEFAULT_ACK_WAIT_MS})`,
      int('--ack-wait'),
    )
    .option(
      '--max-ack-pending <n>',
      `messages delivered and unacknowledged at most (default ${DEFAULT_MAX_ACK_PENDING})`,
      int('--max-ack-pending'),
    )
    .action(async (flags: ApplyFlags) => {
      if (!/^[A-Za-z0-9_-]+$/.test(flags.name)) {
        throw JetboxError.invalidOption(
          '--name',
          `must be letters, digits, _ or -, got "${flags.name}"`,
        );
      }
      if (flags.ackWait !== undefined && flags.ackWait < 100) {
        throw JetboxError.invalidOption(
          '--ack-wait',
          `must be at least 100 ms, got ${flags.ackWait}`,
        );
      }
      const e = env();
      const result = await withJsm(e, (jsm) =>
        ensureConsumer(jsm, e.stream, {
          name: flags.name,
          subjects: flags.subject ?? [],
          maxDeliver: flags.maxDeliver ?? DEFAULT_MAX_DELIVER,
          ackWaitMs: flags.ackWait ?? DEFAULT_ACK_WAIT_MS,
          maxAckPending: flags.maxAckPending ?? DEFAULT_MAX_ACK_PENDING,
        }),
      );
      const out = { stream: e.stream, name: flags.name, action: result.action };
      console.log(json() ? JSON.stringify(out) : `${e.stream}/${flags.name}: ${result.action}`);
    });
}
