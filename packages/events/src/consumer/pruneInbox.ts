import type { QueryResult } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';
import { JetboxError } from '../errors.js';

export interface PruneInboxOptions {
  /** Keep rows newer than this. Must exceed how long a message can still be redelivered. */
  olderThanMs: number;
  /** Only this consumer's rows. @defaultValue all consumers */
  consumer?: string;
  /** Rows deleted per statement, so no delete holds locks for long. @defaultValue 1000 */
  batchSize?: number;
  /** Stop after this many batches (the next run goes on). @defaultValue 100 */
  maxBatches?: number;
}

export const DEFAULT_PRUNE_BATCH_SIZE = 1000;
export const DEFAULT_PRUNE_MAX_BATCHES = 100;

const DELETE_BATCH = `delete from jetbox_inbox where ctid = any(array(
  select ctid from jetbox_inbox
  where processed_at < now() - make_interval(secs => ?) and (?::text is null or consumer = ?)
  limit ?))`;

/**
 * Deletes inbox rows older than `olderThanMs` in bounded batches, each its own short
 * statement. Returns how many rows went.
 */
export async function pruneInbox(orm: MikroORM, options: PruneInboxOptions): Promise<number> {
  const batchSize = options.batchSize ?? DEFAULT_PRUNE_BATCH_SIZE;
  const maxBatches = options.maxBatches ?? DEFAULT_PRUNE_MAX_BATCHES;
  if (!Number.isFinite(options.olderThanMs) || options.olderThanMs < 0) {
    throw JetboxError.invalidOption('olderThanMs', 'must be a number >= 0');
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw JetboxError.invalidOption('batchSize', 'must be a positive integer');
  }
  const consumer = options.consumer ?? null;
  const em = orm.em.fork();
  let total = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const result = await em.execute<QueryResult>(
      DELETE_BATCH,
      [options.olderThanMs / 1000, consumer, consumer, batchSize],
      'run',
    );
    total += result.affectedRows;
    if (result.affectedRows < batchSize) break;
  }
  return total;
}
