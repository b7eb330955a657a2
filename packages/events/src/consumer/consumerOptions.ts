import type { EventDataMap, EventType, UpcasterMap } from '@jetbox/schemas';
import { builtInUpcasters, eventCatalog, isEventType } from '@jetbox/schemas';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { NatsConnection } from '@nats-io/nats-core';
import type { CloudEvent } from 'cloudevents';
import { pino } from 'pino';
import { JetboxError } from '../errors.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoffDelay.js';
import { partitionFilter } from './consumerDurables.js';
import { definedOnly } from '../config.js';

/** The logging calls the consumer makes; a pino logger fits. */
export interface ConsumerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Where a message came from and how often it was tried. */
export interface DeliveryInfo {
  /** How often JetStream has delivered the message (1 on first delivery). */
  deliveryCount: number;
  /** Attempt number counting JetStream deliveries and in-process retries (1 on the first try). */
  attempt: number;
  streamSequence: number;
  /** The NATS subject the event was published on. */
  subject: string;
}

/** What a handler gets besides the (validated, upcast) data. */
export interface HandlerContext {
  /** A forked EntityManager inside the transaction that also records the inbox row. */
  em: EntityManager;
  /** The CloudEvent as decoded; its `data` is the original version, the handler's argument the latest. */
  event: CloudEvent<unknown>;
  delivery: DeliveryInfo;
  /** Aborted when the consumer is stopping; long handlers should give up and throw. */
  signal: AbortSignal;
  logger: ConsumerLogger;
}

export type EventHandler<T extends EventType> = (
  data: EventDataMap[T],
  ctx: HandlerContext,
) => Promise<void>;

/** Handlers by CloudEvent type; a type without a handler is acknowledged and ignored. */
export type EventHandlers = { [T in EventType]?: EventHandler<T> };

/** Options of `createConsumer`. */
export interface ConsumerOptions {
  orm: MikroORM;
  nats: NatsConnection;
  /**
   * The logical consumer: the inbox's `consumer`, the dead-letter subject token and the durable
   * name (with `partitions`, the durables' prefix).
   */
  name: string;
  /** The events stream. */
  stream: string;
  /**
   * Subject filter(s). More than one needs nats-server 2.10 (`filter_subjects`).
   * @defaultValue all subjects of the stream
   */
  subjects: string[];
  handlers: EventHandlers;
  /**
   * How many transactions run at once, each on its own connection. Handlers inside one
   * transaction run one after another, so this is also how many handlers run at once; one key
   * is always handled in order.
   * @defaultValue 1
   */
  concurrency: number;
  /**
   * Most events handled in one transaction: the oldest events of different keys, each followed
   * by its key's next queued events (in order), share one inbox insert and one commit, which is
   * what makes a consumer fast when handlers are short. If a handler fails, the transaction rolls
   * back, each key's oldest event goes again alone, and the failed one after its backoff; its
   * effects, and the others', apply once.
   * 1 gives every event its own transaction.
   * @defaultValue 50
   */
  batchSize: number;
  /**
   * With `concurrency` above 1: while transactions run, an event that arrives waits up to this
   * long for one of them to end before it starts a transaction of its own, so that events share
   * transactions (one begin, inbox insert and commit) instead of each paying for them. Only while
   * handlers take less time than a transaction's own statements (measured as the consumer runs):
   * with slower handlers, events start at once and spread over the free transactions. Waiting
   * events start at once when a batch's worth is ready. 0 turns it off.
   * @defaultValue 2
   */
  lingerMs: number;
  /**
   * Consume only these partitions (the last subject token, `<prefix>.<domain>.<event>.<partition>`).
   * Give each instance a disjoint set and per-key order holds across instances. Every partition
   * has its own durable, `<name>-p<partition>`, so instances can take other partitions later
   * without losing positions; the inbox and dead letters still use `name`, so a change of layout
   * never applies an effect twice. Needs `subjects`, each `<prefix>.<domain>.<event>` or ending
   * in `>` (e.g. `events.match.>`). `maxAckPending` applies per durable.
   * @defaultValue all partitions, through one durable named `name`
   */
  partitions: number[];
  /**
   * Attempts (deliveries plus in-process retries) before a failing message is dead-lettered.
   * @defaultValue 5
   */
  maxDeliver: number;
  /** Delays between attempts. @defaultValue 1 s, doubling, capped at 60 s */
  backoff: BackoffOptions;
  /**
   * JetStream redelivers a message not acknowledged within this time; the consumer sends
   * `working()` heartbeats for every message it holds, so only a dead process hits it.
   * @defaultValue 30000
   */
  ackWaitMs: number;
  /**
   * Messages delivered but not yet acknowledged, across all instances; bounds memory.
   * @defaultValue 1000
   */
  maxAckPending: number;
  /** Dead letters go to `<subjectPrefix>.<consumer>.<original subject>`. @defaultValue `dlq` */
  deadLetterSubjectPrefix: string;
  /** Upcasters from older data versions. @defaultValue `builtInUpcasters` of `@jetbox/schemas` */
  upcasters: UpcasterMap;
  /**
   * How long one pull request stays open at the server. nats-server 2.9 cannot cancel a pull
   * request, so after `stop()` an open one keeps receiving messages nobody reads (they wait
   * `ackWaitMs`); messages given back on stop are therefore nak'ed with this delay, and a short
   * value limits how long a stopped instance can hold messages. At least 1000.
   * @defaultValue 5000
   */
  pullExpiresMs: number;
  /**
   * An attempt (transaction and handler) that takes longer fails as retryable and `ctx.signal`
   * aborts. Besides slow handlers this covers a transaction whose connection died mid-way,
   * which the driver may never settle. Safe: if the slow attempt commits after all, the retry
   * waits on its inbox row and then skips the event.
   * @defaultValue 60000
   */
  handlerTimeoutMs: number;
  /** `stop()` waits this long for running handlers, then gives up on them. @defaultValue 10000 */
  stopTimeoutMs: number;
  /** @defaultValue a pino logger named `jetbox-consumer` */
  logger: ConsumerLogger;
}

/** What the caller must give; everything else has a default. */
export type ConsumerOptionsInput = Pick<
  ConsumerOptions,
  'orm' | 'nats' | 'name' | 'stream' | 'handlers'
> &
  Partial<
    Omit<
      ConsumerOptions,
      'orm' | 'nats' | 'name' | 'stream' | 'handlers' | 'subjects' | 'backoff' | 'partitions'
    >
  > & {
    partitions?: readonly number[];
    subjects?: string | string[];
    backoff?: Partial<BackoffOptions>;
  };

export const DEFAULT_CONCURRENCY = 1;
export const DEFAULT_BATCH_SIZE = 50;
export const DEFAULT_LINGER_MS = 2;
export const DEFAULT_MAX_DELIVER = 5;
export const DEFAULT_ACK_WAIT_MS = 30_000;
export const DEFAULT_MAX_ACK_PENDING = 1000;
export const DEFAULT_DEAD_LETTER_SUBJECT_PREFIX = 'dlq';
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;
export const DEFAULT_PULL_EXPIRES_MS = 5000;
export const DEFAULT_HANDLER_TIMEOUT_MS = 60_000;

const NAME = /^[A-Za-z0-9_-]+$/;
const SUBJECT = /^[^\s]+$/;

/** Merges defaults into `input` and fails fast, naming the first wrong property. */
export function resolveConsumerOptions(input: ConsumerOptionsInput): ConsumerOptions {
  if (typeof input !== 'object' || input === null) {
    throw JetboxError.invalidOption('consumer', 'options must be an object');
  }
  if (input.orm === undefined) throw JetboxError.invalidOption('orm', 'is required');
  if (input.nats === undefined) throw JetboxError.invalidOption('nats', 'is required');
  if (typeof input.name !== 'string' || !NAME.test(input.name)) {
    throw JetboxError.invalidOption(
      'name',
      'must be letters, digits, _ or - (it is a durable name and a subject token)',
    );
  }
  if (typeof input.stream !== 'string' || !NAME.test(input.stream)) {
    throw JetboxError.invalidOption('stream', 'must be a stream name');
  }
  const subjects =
    input.subjects === undefined
      ? []
      : Array.isArray(input.subjects)
        ? input.subjects
        : [input.subjects];
  subjects.forEach((s, i) => {
    if (typeof s !== 'string' || !SUBJECT.test(s)) {
      throw JetboxError.invalidOption(`subjects[${i}]`, 'must be a NATS subject');
    }
  });
  if (typeof input.handlers !== 'object' || input.handlers === null) {
    throw JetboxError.invalidOption('handlers', 'must map CloudEvent types to functions');
  }
  for (const [type, handler] of Object.entries(input.handlers)) {
    // A misspelt type would never run: its events would be acked as having no handler.
    if (!isEventType(type)) {
      throw JetboxError.invalidOption(
        `handlers.${type}`,
        `is not a CloudEvent type of @jetbox/schemas (known: ${Object.keys(eventCatalog).join(', ')})`,
      );
    }
    if (typeof handler !== 'function') {
      throw JetboxError.invalidOption(`handlers.${type}`, 'must be a function');
    }
  }
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...definedOnly(input.backoff ?? {}) };
  const options: ConsumerOptions = {
    orm: input.orm,
    nats: input.nats,
    name: input.name,
    stream: input.stream,
    subjects,
    handlers: input.handlers,
    concurrency: input.concurrency ?? DEFAULT_CONCURRENCY,
    batchSize: input.batchSize ?? DEFAULT_BATCH_SIZE,
    lingerMs: input.lingerMs ?? DEFAULT_LINGER_MS,
    partitions: resolvePartitions(input.partitions, subjects),
    maxDeliver: input.maxDeliver ?? DEFAULT_MAX_DELIVER,
    backoff,
    ackWaitMs: input.ackWaitMs ?? DEFAULT_ACK_WAIT_MS,
    maxAckPending: input.maxAckPending ?? DEFAULT_MAX_ACK_PENDING,
    deadLetterSubjectPrefix: input.deadLetterSubjectPrefix ?? DEFAULT_DEAD_LETTER_SUBJECT_PREFIX,
    upcasters: input.upcasters ?? builtInUpcasters,
    pullExpiresMs: input.pullExpiresMs ?? DEFAULT_PULL_EXPIRES_MS,
    handlerTimeoutMs: input.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS,
    stopTimeoutMs: input.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
    logger: input.logger ?? pino({ name: 'jetbox-consumer' }),
  };
  positiveInteger('concurrency', options.concurrency);
  positiveInteger('batchSize', options.batchSize);
  positiveInteger('maxDeliver', options.maxDeliver);
  atLeast('lingerMs', options.lingerMs, 0);
  positiveInteger('maxAckPending', options.maxAckPending);
  atLeast('ackWaitMs', options.ackWaitMs, 100);
  atLeast('pullExpiresMs', options.pullExpiresMs, 1000);
  atLeast('handlerTimeoutMs', options.handlerTimeoutMs, 1);
  atLeast('stopTimeoutMs', options.stopTimeoutMs, 0);
  atLeast('backoff.initialMs', backoff.initialMs, 0);
  atLeast('backoff.multiplier', backoff.multiplier, 1);
  atLeast('backoff.maxMs', backoff.maxMs, backoff.initialMs);
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(options.deadLetterSubjectPrefix)) {
    throw JetboxError.invalidOption('deadLetterSubjectPrefix', 'must be literal subject tokens');
  }
  return options;
}

/** Checks `partitions` and that every subject filter can take a partition token. */
function resolvePartitions(
  partitions: readonly number[] | undefined,
  subjects: readonly string[],
): number[] {
  if (partitions === undefined) return [];
  // Checked as unknown: options also come from untyped configuration.
  const list: unknown = partitions;
  if (!Array.isArray(list) || list.length === 0) {
    throw JetboxError.invalidOption('partitions', 'must be a non-empty array of partition numbers');
  }
  const seen = new Set<number>();
  (list as unknown[]).forEach((p, i) => {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0) {
      throw JetboxError.invalidOption(
        `partitions[${i}]`,
        `must be an integer >= 0, got ${String(p)}`,
      );
    }
    if (seen.has(p)) throw JetboxError.invalidOption(`partitions[${i}]`, `${p} is listed twice`);
    seen.add(p);
  });
  if (subjects.length === 0) {
    throw JetboxError.invalidOption(
      'subjects',
      'is required with partitions, e.g. events.match.> (the partition is the last token)',
    );
  }
  subjects.forEach((subject, i) => partitionFilter(subject, 0, `subjects[${i}]`));
  return [...partitions];
}

function positiveInteger(property: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw JetboxError.invalidOption(property, `must be a positive integer, got ${String(value)}`);
  }
}

function atLeast(property: string, value: number, min: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw JetboxError.invalidOption(property, `must be a number >= ${min}, got ${String(value)}`);
  }
}
