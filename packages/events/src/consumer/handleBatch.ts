import { TransactionContext } from '@mikro-orm/core';
import { context } from '@opentelemetry/api';
import type { EventType } from '@jetbox/schemas';
import type { JsMsg } from '@nats-io/jetstream';
import type { MessageRef } from './consumerEvents.js';
import type { ConsumerOptions, EventHandler, HandlerContext } from './consumerOptions.js';
import { asError, type PreparedEvent } from './prepareMessage.js';
import { endSpan, startProcessSpan } from '../tracing/messageSpans.js';
import {
  FailedTransactionError,
  watchTransaction,
  type TransactionHealth,
} from './transactionHealth.js';

/** A delivered message, ready for its handler. */
export interface BatchItem {
  msg: JsMsg;
  ref: MessageRef;
  prepared: PreparedEvent;
}

export type BatchOutcome<T extends BatchItem> =
  /** `handlersMs`: the part of `durationMs` spent in handlers and their flushes. */
  | { ok: true; duplicates: ReadonlySet<T>; durationMs: number; handlersMs: number }
  /** Rolled back. `culprit` is the item whose handler (or its flush) failed, if one did. */
  | { ok: false; error: Error; culprit: T | undefined };

/**
 * Handles `items` (of different keys) in one transaction: one insert of their inbox rows finds
 * the duplicates, then each other item's handler runs, one after another, on its own fork of the
 * transaction's EntityManager, and is flushed; then one commit. Any failure rolls back all of it.
 *
 * Every step (inbox insert, each handler with its flush, the commit) gets `handlerTimeoutMs`; a
 * step that takes longer fails the batch and aborts `ctx.signal`. The transaction is then
 * abandoned, not awaited: a connection that died mid-way may never settle it.
 */
export async function handleBatch<T extends BatchItem>(
  items: readonly T[],
  options: Pick<ConsumerOptions, 'orm' | 'name' | 'handlers' | 'handlerTimeoutMs' | 'logger'>,
  stopping: AbortSignal,
): Promise<BatchOutcome<T>> {
  const started = performance.now();
  const timeout = new AbortController();
  // Aborted by the stop or the timeout. Forwarded by hand: on Node.js 20, `AbortSignal.any` left
  // an entry on the consumer's long-lived `stopping` signal for every batch, never collected.
  const aborter = new AbortController();
  const signal = aborter.signal;
  const onStop = () => aborter.abort(stopping.reason);
  if (stopping.aborted) onStop();
  else stopping.addEventListener('abort', onStop, { once: true });
  const duplicates = new Set<T>();
  let handlersMs = 0;
  let culprit: T | undefined;
  let rejectTimedOut: (err: Error) => void = () => undefined;
  const timedOut = new Promise<never>((_, reject) => (rejectTimedOut = reject));
  const timer = setTimeout(() => {
    const error = new Error(
      `handler and transaction took longer than ${options.handlerTimeoutMs} ms`,
    );
    timeout.abort(error);
    aborter.abort(error);
    rejectTimedOut(error);
  }, options.handlerTimeoutMs);
  /** Each step starts the clock again (`refresh`: the same timer, no new one per step). */
  const step = () => timer.refresh();

  // begin/commit on one fork rather than `transactional`, which forks it again, clones its event
  // manager and merges the fork back: ≈ 100 µs of CPU per batch, 8% of a batch of five. The
  // attempt still runs in the fork's TransactionContext, as `transactional` would run it: code in
  // a handler that reaches the global `orm.em` (a repository, `@Transactional()`) is in the batch's
  // transaction, not beside it, where it would commit on its own or wait on the batch's locks.
  const em = options.orm.em.fork();
  const attempt = TransactionContext.create(em, async () => {
    await em.begin();
    const health = await watchTransaction(em);
    try {
      await run(health);
      // A batch that timed out in its last handler was reported failed: it must not commit. (A
      // stop after the last handler does not count: work done by then is committed.)
      timeout.signal.throwIfAborted();
      await health.beforeCommit();
      step();
      await em.commit();
      // `COMMIT` of a failed transaction rolls back without an error. Its failure may have been
      // reported only after the last handler returned; `pg` has read that report by now.
      if (health.rolledBackAtCommit()) throw new FailedTransactionError();
    } catch (err) {
      // Not awaited by a timed-out batch (abandoned); a dead connection may never settle it.
      await em.rollback().catch(() => undefined);
      throw err;
    } finally {
      health.stop();
    }
  });
  async function run(health: TransactionHealth): Promise<void> {
    const placeholders = items.map(() => '(?, ?)').join(', ');
    const params = items.flatMap((item) => [options.name, item.prepared.event.id]);
    const inserted = await em.execute<{ event_id: string }[]>(
      `insert into jetbox_inbox (consumer, event_id) values ${placeholders} on conflict do nothing returning event_id`,
      params,
      'all',
    );
    const fresh = new Set(inserted.map((row) => row.event_id.toLowerCase()));
    for (const item of items) {
      // A timed-out (abandoned) batch must not go on running handlers and holding locks.
      signal.throwIfAborted();
      // delete: should one id come twice, only its first message runs the handler.
      if (!fresh.delete(item.prepared.event.id.toLowerCase())) {
        duplicates.add(item);
        continue;
      }
      culprit = item;
      step();
      const { msg, ref, prepared } = item;
      const handler = options.handlers[prepared.type] as EventHandler<EventType>;
      // Its own fork: one handler's unflushed entities never end up in another's flush.
      const fork = em.fork({ keepTransactionContext: true });
      const ctx: HandlerContext = {
        em: fork,
        event: prepared.event,
        delivery: {
          deliveryCount: msg.info.deliveryCount,
          attempt: ref.attempt,
          streamSequence: msg.info.streamSequence,
          subject: msg.subject,
        },
        signal,
        logger: options.logger,
      };
      // The handler's own calls (HTTP, SQL) join the trace the event was recorded in.
      const traced = startProcessSpan(options.name, msg.subject, prepared.event);
      const handlerStarted = performance.now();
      try {
        await context.with(traced.context, () => handler(prepared.data as never, ctx));
        await fork.flush();
        // Still the culprit: a handler that swallowed a database error failed the transaction.
        if (health.failed()) throw new FailedTransactionError();
        endSpan(traced.span);
      } catch (err) {
        endSpan(traced.span, err);
        throw err;
      }
      handlersMs += performance.now() - handlerStarted;
      culprit = undefined;
    }
  }
  try {
    await Promise.race([attempt, timedOut]);
    return { ok: true, duplicates, durationMs: performance.now() - started, handlersMs };
  } catch (err) {
    return { ok: false, error: asError(err), culprit };
  } finally {
    clearTimeout(timer);
    stopping.removeEventListener('abort', onStop);
    // A late settlement of an abandoned attempt must not surface as an unhandled rejection.
    attempt.catch(() => undefined);
  }
}
