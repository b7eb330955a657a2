import { assertValidEvent, type EventDataMap, type EventType } from '@jetbox/schemas';
import { JetboxError, JetboxErrorCode } from '../errors.js';
import { currentTraceHeaders } from './currentTraceHeaders.js';

/** An event an aggregate recorded and the outbox has not written yet. */
export interface RecordedEvent {
  type: EventType;
  data: unknown;
  aggregateType: string;
  aggregateId: string;
  traceHeaders: Record<string, string>;
}

// Kept outside the entity: MikroORM may create entities without running constructors, and
// nothing here must ever be mistaken for a persistent property.
const pending = new WeakMap<object, RecordedEvent[]>();

/**
 * Base class for aggregates whose state changes cause events. `recordEvent` validates the data
 * at once; the outbox subscriber writes the events in the same flush as the aggregate.
 */
export abstract class AggregateRoot {
  /** The aggregate's type, e.g. `match`; events are ordered per (type, id). */
  abstract get aggregateType(): string;
  /** The aggregate's id, set before flush (use client-side ids such as UUIDv7). */
  abstract get aggregateId(): string;

  protected recordEvent<T extends EventType>(type: T, data: EventDataMap[T]): void {
    recordOn(this, {
      type,
      data,
      aggregateType: this.aggregateType,
      aggregateId: this.aggregateId,
    });
  }
}

export function recordOn(
  target: object,
  event: Omit<RecordedEvent, 'traceHeaders'> & { traceHeaders?: Record<string, string> },
): void {
  try {
    assertValidEvent(event.type, event.data);
  } catch (err) {
    throw new JetboxError(JetboxErrorCode.InvalidEvent, (err as Error).message, { cause: err });
  }
  const list = pending.get(target) ?? [];
  list.push({ ...event, traceHeaders: event.traceHeaders ?? currentTraceHeaders() });
  pending.set(target, list);
}

/** The events an aggregate recorded and the outbox has not written yet (a copy). */
export function recordedEvents(target: object): RecordedEvent[] {
  return [...(pending.get(target) ?? [])];
}

/** Forgets `written` (once the flush that wrote them succeeded); events recorded since stay. */
export function forgetRecordedEvents(target: object, written: readonly RecordedEvent[]): void {
  const list = pending.get(target);
  if (!list) return;
  const done = new Set(written);
  const rest = list.filter((event) => !done.has(event));
  if (rest.length > 0) pending.set(target, rest);
  else pending.delete(target);
}
