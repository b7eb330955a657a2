import type {
  EntityManager,
  EventSubscriber,
  FlushEventArgs,
  TransactionEventArgs,
} from '@mikro-orm/core';
import type { EventDataMap, EventType } from '@jetbox/schemas';
import {
  forgetRecordedEvents,
  recordedEvents,
  recordOn,
  type RecordedEvent,
} from './AggregateRoot.js';
import { buildOutboxRow } from './buildOutboxRow.js';
import { currentTraceHeaders } from './currentTraceHeaders.js';
import { OutboxMessageSchema } from './OutboxMessage.js';
import {
  resolveOutboxOptions,
  type OutboxOptions,
  type ResolvedOutboxOptions,
} from './outboxOptions.js';

/** An event added without an aggregate. */
export interface OutboxEventInput<T extends EventType = EventType> {
  type: T;
  data: EventDataMap[T];
  aggregateType: string;
  aggregateId: string;
}

export interface Outbox {
  readonly options: ResolvedOutboxOptions;
  /** Register in the ORM config: `subscribers: [outbox.subscriber]`. */
  readonly subscriber: EventSubscriber;
  /** Records an event to be written by the next flush of `em`, in the same transaction. */
  add<T extends EventType>(em: EntityManager, event: OutboxEventInput<T>): void;
  /** Called after a transaction that wrote outbox rows commits; returns an unsubscribe. */
  onCommit(listener: () => void): () => void;
}

// Events added through `add()` hang off the EntityManager until its next flush.
const standalone = new WeakMap<EntityManager, object>();

/**
 * The transaction whose commit makes a flush's rows visible. A flush inside a nested transaction
 * (a savepoint) runs in knex's nested transaction object, while MikroORM reports only the root's
 * commit (`afterTransactionCommit`): each nested one names its parent as `parentTransaction`.
 */
function rootTransaction(trx: object | undefined): object | undefined {
  let root = trx;
  for (let depth = 0; depth < 100; depth++) {
    const parent = (root as { parentTransaction?: object } | undefined)?.parentTransaction;
    if (!parent) break;
    root = parent;
  }
  return root;
}

/**
 * The producer side of the outbox: a MikroORM flush subscriber that turns recorded events into
 * `jetbox_outbox` rows inside the flush's own unit of work, and a commit signal for relays.
 */
export function createOutbox(options: OutboxOptions): Outbox {
  const resolved = resolveOutboxOptions(options);
  const listeners = new Set<() => void>();
  const wrote = new WeakSet<object>();
  let wroteOutsideTransaction = false;
  // What each unit of work's flush is writing, forgotten by the aggregates only once that flush
  // succeeded: a flush that fails (a deadlock, a dropped connection, an oversized event) leaves
  // them recorded, so a retried flush writes them with the aggregate instead of without.
  const writing = new WeakMap<object, { target: object; events: RecordedEvent[] }[]>();

  const forgetWritten = (uow: object) => {
    for (const { target, events } of writing.get(uow) ?? []) forgetRecordedEvents(target, events);
    writing.delete(uow);
  };

  const subscriber: EventSubscriber = {
    onFlush(args: FlushEventArgs) {
      const events: RecordedEvent[] = [];
      const taken: { target: object; events: RecordedEvent[] }[] = [];
      const seen = new Set<object>();
      const take = (entity: object) => {
        if (seen.has(entity)) return;
        seen.add(entity);
        const recorded = recordedEvents(entity);
        if (recorded.length === 0) return;
        taken.push({ target: entity, events: recorded });
        events.push(...recorded);
      };
      for (const cs of args.uow.getChangeSets()) take(cs.entity);
      // An aggregate may record an event without a column changing.
      for (const entity of args.uow.getIdentityMap()) take(entity);
      const holder = standalone.get(args.em);
      if (holder) take(holder);
      writing.set(args.uow, taken);
      if (events.length === 0) return;
      const now = new Date();
      for (const event of events) {
        const row = args.em.create(OutboxMessageSchema, buildOutboxRow(event, resolved, now), {
          persist: false,
        });
        args.uow.computeChangeSet(row);
      }
      const trx = rootTransaction(args.em.getTransactionContext<object>());
      if (trx) wrote.add(trx);
      else wroteOutsideTransaction = true;
    },
    afterTransactionCommit(args: TransactionEventArgs) {
      // A flush's own transaction commits before its afterFlush: forget here first, so a listener
      // that throws from now on cannot leave committed events recorded, to be written again.
      if (args.uow) forgetWritten(args.uow);
      const trx = args.transaction as object | undefined;
      if ((trx && wrote.has(trx)) || wroteOutsideTransaction) {
        wroteOutsideTransaction = false;
        for (const l of listeners) l();
      }
    },
    afterFlush(args: FlushEventArgs) {
      forgetWritten(args.uow);
      if (wroteOutsideTransaction) {
        wroteOutsideTransaction = false;
        for (const l of listeners) l();
      }
    },
  };

  return {
    options: resolved,
    subscriber,
    add(em, event) {
      let holder = standalone.get(em);
      if (!holder) {
        holder = {};
        standalone.set(em, holder);
      }
      recordOn(holder, { ...event, traceHeaders: currentTraceHeaders() });
    },
    onCommit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
