import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Whether PostgreSQL still holds the batch's transaction open for work. A handler that catches a
 * database error and goes on (an "idempotent" insert that swallows its duplicate key) leaves the
 * transaction failed: every later statement is refused, and `COMMIT` answers `ROLLBACK` without
 * an error, which neither knex nor MikroORM checks. The batch would then be acked with nothing
 * of it written.
 */
export interface TransactionHealth {
  /**
   * True while PostgreSQL reports the transaction failed (known without a statement on `pg`). A
   * handler that rolled back to a savepoint has recovered it: then it is false again.
   */
  failed(): boolean;
  /** Throws when the transaction has failed, running a statement to find out if it must. */
  beforeCommit(): Promise<void>;
  /**
   * After `COMMIT`: true when the transaction was failed when `COMMIT` ran, which then rolled it
   * back. (A failure reported after the last handler returned is seen here at the latest.)
   */
  rolledBackAtCommit(): boolean;
  stop(): void;
}

/** What a failed transaction reports, naming the likely cause. */
export class FailedTransactionError extends Error {
  constructor() {
    super(
      'PostgreSQL aborted the transaction: a handler caught a database error and went on, so nothing it or the batch wrote could commit',
    );
    this.name = 'FailedTransactionError';
  }
}

interface ReadyForQuery {
  status?: string;
}
interface Wire {
  on(event: 'readyForQuery', listener: (msg: ReadyForQuery) => void): unknown;
  off(event: 'readyForQuery', listener: (msg: ReadyForQuery) => void): unknown;
}

/**
 * Watches the transaction `em` has begun. On `pg` (through knex) it reads the transaction status
 * PostgreSQL sends after every statement ('E': failed), which costs nothing; where that cannot be
 * reached, `beforeCommit` runs one statement, which a failed transaction refuses.
 */
export async function watchTransaction(em: EntityManager): Promise<TransactionHealth> {
  const trx = em.getTransactionContext<{ client?: { acquireConnection?: () => unknown } }>();
  const connection = (await trx?.client?.acquireConnection?.()) as { connection?: unknown };
  const wire = connection?.connection as Partial<Wire> | undefined;
  if (typeof wire?.on !== 'function' || typeof wire.off !== 'function') {
    return {
      failed: () => false,
      async beforeCommit() {
        try {
          await em.execute('select 1');
        } catch {
          throw new FailedTransactionError();
        }
      },
      rolledBackAtCommit: () => false,
      stop() {},
    };
  }
  // The status after the latest statement, and after the one before it: `COMMIT` is sent only
  // once the statement before it has reported, so after the commit `previous` is what it found.
  let status = 'T';
  let previous = 'T';
  const onReady = (msg: ReadyForQuery) => {
    previous = status;
    status = msg.status ?? status;
    // Idle: the transaction is over, and the pooled connection may already serve someone else
    // (an afterTransactionCommit subscriber, another batch) before the commit returns.
    if (status === 'I') wire.off!('readyForQuery', onReady);
  };
  wire.on('readyForQuery', onReady);
  return {
    failed: () => status === 'E',
    beforeCommit() {
      return status === 'E' ? Promise.reject(new FailedTransactionError()) : Promise.resolve();
    },
    rolledBackAtCommit: () => previous === 'E',
    stop() {
      wire.off!('readyForQuery', onReady);
    },
  };
}
