import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { FailedTransactionError, watchTransaction } from '../src/consumer/transactionHealth.js';

/** An EntityManager in a transaction whose pg connection is `wire`, as knex exposes it. */
const emOn = (wire: EventEmitter) =>
  ({
    getTransactionContext: () => ({
      client: { acquireConnection: () => Promise.resolve({ connection: wire }) },
    }),
  }) as never;

describe('transaction health (PostgreSQL transaction status)', () => {
  const ready = (wire: EventEmitter, status: string) => wire.emit('readyForQuery', { status });

  it('is failed while PostgreSQL reports E, and recovered after a rollback to a savepoint', async () => {
    const wire = new EventEmitter();
    const health = await watchTransaction(emOn(wire));
    ready(wire, 'T');
    expect(health.failed()).to.equal(false);
    ready(wire, 'E');
    expect(health.failed()).to.equal(true);
    const err = await health.beforeCommit().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(FailedTransactionError);
    ready(wire, 'T'); // rollback to savepoint
    expect(health.failed()).to.equal(false);
    await health.beforeCommit();
    health.stop();
    expect(wire.listenerCount('readyForQuery')).to.equal(0);
  });

  it('tells after COMMIT that the transaction was failed when it ran, though reported late', async () => {
    const wire = new EventEmitter();
    const health = await watchTransaction(emOn(wire));
    ready(wire, 'T');
    await health.beforeCommit(); // the failure has not been reported yet
    ready(wire, 'E'); // reported before COMMIT is sent
    ready(wire, 'I'); // COMMIT, which rolled back
    // The connection, back in the pool, serves someone else before the commit returns.
    ready(wire, 'I');
    expect(health.rolledBackAtCommit()).to.equal(true);
    expect(wire.listenerCount('readyForQuery')).to.equal(0);

    const healthy = await watchTransaction(emOn(new EventEmitter()));
    expect(healthy.rolledBackAtCommit()).to.equal(false);
  });
});
