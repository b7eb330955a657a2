import { EventEmitter } from 'node:events';
import type { EventType } from '@jetbox/schemas';
import {
  jetstream,
  jetstreamManager,
  type ConsumerInfo,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';
import { backoffDelay } from './backoffDelay.js';
import type { ConsumerEventMap, MessageRef } from './consumerEvents.js';
import { consumerDurables } from './consumerDurables.js';
import {
  resolveConsumerOptions,
  type ConsumerOptions,
  type ConsumerOptionsInput,
} from './consumerOptions.js';
import {
  deadLetterHeaders,
  deadLetterSubject,
  type DeadLetterReason,
} from './deadLetterHeaders.js';
import { ensureConsumer } from './ensureConsumer.js';
import { handleBatch, type BatchItem } from './handleBatch.js';
import { isNonRetryableError } from './NonRetryableError.js';
import { isRetryLaterError } from './RetryLaterError.js';
import { asError, prepareMessage } from './prepareMessage.js';
import { sleep } from './sleep.js';

/** A running (or stopped) consumer. */
export interface Consumer {
  /** Declares the durable consumer(s) and starts pulling. Safe to call twice. */
  start(): Promise<void>;
  /**
   * Stops pulling, aborts `ctx.signal`, waits up to `stopTimeoutMs` for running handlers and
   * gives every message it still holds back to JetStream (`nak`). Safe to call twice.
   */
  stop(): Promise<void>;
  readonly running: boolean;
  /**
   * The durable consumer's state at the server (pending = lag, ack pending, …). With
   * `partitions`, `num_pending`, `num_ack_pending`, `num_redelivered` and `num_waiting` are sums
   * over its durables and the other fields are the first durable's; `infos()` has each.
   */
  info(): Promise<ConsumerInfo>;
  /** The state of each durable, in the order of `durables`. */
  infos(): Promise<ConsumerInfo[]>;
  /** The durables it pulls from: `name`, or `<name>-p<partition>` for each of `partitions`. */
  readonly durables: readonly string[];
  readonly events: EventEmitter<ConsumerEventMap>;
  readonly options: Readonly<ConsumerOptions>;
}

/** Most messages asked of the server per pull; `max_ack_pending` bounds the rest. */
const MAX_PULL_BATCH = 256;

interface Attempt {
  msg: JsMsg;
  ref: MessageRef;
}

interface Item extends BatchItem {
  /** Set after a failure: handled in a transaction of its own, so no neighbour can fail it. */
  solo: boolean;
}

/**
 * A JetStream durable pull consumer that applies each event's effects exactly once: the
 * handler's writes and the inbox row `(consumer, event id)` commit in one transaction, and
 * the message is acknowledged after the commit.
 *
 * Ordering: messages are queued per partition key in arrival (stream) order, and a key's
 * messages are handled only from its head, in order. Up to `concurrency` transactions run at
 * once, each with up to `batchSize` messages: the heads of different keys, each followed by the
 * key's next queued messages. A failing message is retried in-process, with backoff, while it keeps its
 * key, so later events of that key wait for it; every message held gets `working()` heartbeats
 * so JetStream does not redeliver it meanwhile. After `maxDeliver` attempts, or at once for a
 * failure no retry can fix, it is dead-lettered and terminated.
 */
export function createConsumer(input: ConsumerOptionsInput): Consumer {
  const options = resolveConsumerOptions(input);
  const { name, logger } = options;
  const durables = consumerDurables(options);
  const events = new EventEmitter<ConsumerEventMap>();
  /** Every message delivered and not yet acked, naked or terminated. */
  const held = new Set<JsMsg>();
  /** Per key, its messages in arrival order; the head is the one being (or to be) handled. */
  const queues = new Map<string, Item[]>();
  /** Keys whose head may join a batch now, oldest first. */
  const ready = new Set<string>();
  const tasks = new Set<Promise<void>>();
  let busy = 0;
  let dispatchQueued = false;
  let js: JetStreamClient | undefined;
  let pulls: ConsumerMessages[] = [];
  let heartbeat: NodeJS.Timeout | undefined;
  let abort = new AbortController();
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let running = false;
  /** The last message delivered had none pending after it: no backlog to take batches from. */
  let caughtUp = false;

  const handoffDelayMs = options.pullExpiresMs + 250;
  /** Delays messages were given back with while stopping, for the order of the rest. */
  const givenBack = new Map<JsMsg, number>();
  const handled = (type: EventType) => typeof options.handlers[type] === 'function';

  function emitError(err: unknown, during: string): void {
    const error = asError(err);
    logger.error({ err: error, consumer: name, during }, 'consumer background failure');
    try {
      events.emit('consumer:error', { consumer: name, error, during });
    } catch (listenerErr) {
      logger.error({ err: asError(listenerErr), consumer: name }, 'consumer:error listener threw');
    }
  }

  /**
   * Emits a consumer event. A listener that throws must not stop the acks, retries and key
   * advances the event is emitted among (its messages would be held, and their keys blocked,
   * for good): its error is reported as `consumer:error`, during `listener`.
   */
  const announce = <K extends keyof ConsumerEventMap>(event: K, ...args: ConsumerEventMap[K]) => {
    try {
      (events.emit as (event: K, ...args: ConsumerEventMap[K]) => boolean)(event, ...args);
    } catch (err) {
      emitError(err, 'listener');
    }
  };

  function track(task: Promise<void>): void {
    const tracked = task.catch((err: unknown) => emitError(err, 'message task'));
    tasks.add(tracked);
    void tracked.finally(() => tasks.delete(tracked));
  }

  /** Settles a message once; later calls (a handler finishing after a stop timeout) do nothing. */
  function release(msg: JsMsg, how: 'ack' | 'term' | { nakMs: number }): void {
    if (!held.delete(msg)) return;
    if (how === 'ack') msg.ack();
    else if (how === 'term') msg.term();
    else if (running) msg.nak(how.nakMs);
    else {
      // A message given back while stopping would otherwise go straight into this instance's
      // still-open pull request and sit there for ackWait: wait until that request has expired.
      const delayMs = Math.max(how.nakMs, handoffDelayMs);
      givenBack.set(msg, delayMs);
      msg.nak(delayMs);
    }
  }

  /**
   * Stopping: gives back what is still queued, key by key, each message due strictly after the
   * ones before it of its key (a head in backoff may have been given back with a long delay),
   * so JetStream redelivers a key's events in order.
   */
  function giveBackInOrder(): void {
    for (const queue of queues.values()) {
      let due = 0;
      for (const item of queue) {
        const given = givenBack.get(item.msg);
        if (given !== undefined) due = Math.max(due, given);
        else if (held.has(item.msg)) {
          due = Math.max(due, handoffDelayMs) + 1;
          release(item.msg, { nakMs: due });
        }
      }
    }
  }

  function onMessage(msg: JsMsg): void {
    held.add(msg);
    caughtUp = msg.info.pending === 0;
    if (!running) {
      release(msg, { nakMs: 0 });
      return;
    }
    const prepared = prepareMessage(msg, handled, options.upcasters);
    const ref: MessageRef = {
      consumer: name,
      subject: msg.subject,
      streamSequence: msg.info.streamSequence,
      attempt: msg.info.deliveryCount,
      eventId: prepared.event?.id,
      type: prepared.event?.type,
    };
    if (!prepared.ok) {
      track(deadLetter({ msg, ref }, prepared.reason, prepared.error));
      return;
    }
    if (!handled(prepared.type)) {
      release(msg, 'ack');
      announce('consumer:ignored', ref);
      return;
    }
    const item: Item = { msg, ref, prepared, solo: false };
    const queue = queues.get(prepared.key);
    if (queue) {
      queue.push(item);
      return;
    }
    queues.set(prepared.key, [item]);
    markReady(prepared.key);
  }

  /**
   * Dispatching waits for the current turn of the event loop to end, so the messages of one
   * pull response (delivered one callback each, synchronously) can share a batch.
   */
  function markReady(key: string): void {
    ready.add(key);
    if (dispatchQueued) return;
    dispatchQueued = true;
    queueMicrotask(dispatch);
  }

  /**
   * What one handler (with its flush) and one transaction's own statements (begin, inbox insert,
   * commit) take, as moving averages of committed batches: while handlers are the cheaper of the
   * two, events share transactions rather than spread over them.
   */
  let handlerMs = NaN;
  let overheadMs = NaN;
  const AVERAGE_WEIGHT = 0.1;
  function learn(durationMs: number, handlersMs: number, handled: number): void {
    if (handled === 0) return;
    const average = (previous: number, sample: number) =>
      Number.isNaN(previous) ? sample : previous + AVERAGE_WEIGHT * (sample - previous);
    handlerMs = average(handlerMs, handlersMs / handled);
    overheadMs = average(overheadMs, durationMs - handlersMs);
  }
  const sharing = () => options.lingerMs > 0 && handlerMs < overheadMs;
  let linger: NodeJS.Timeout | undefined;
  let lingered = false;
  /** Whether the ready keys hold a batch's worth of events. */
  function batchReady(): boolean {
    let events = 0;
    for (const key of ready) {
      events += queues.get(key)?.length ?? 0;
      if (events >= options.batchSize) return true;
    }
    return false;
  }

  /** Starts batches while transaction slots are free; each round takes keys out of `ready`. */
  function dispatch(): void {
    dispatchQueued = false;
    while (running && busy < options.concurrency && ready.size > 0) {
      const share = sharing();
      if (share && caughtUp && busy > 0 && !lingered && !batchReady()) {
        // Wait a little for a running transaction to end: its slot then takes all that is ready.
        linger ??= setTimeout(() => {
          linger = undefined;
          lingered = true;
          dispatch();
        }, options.lingerMs);
        return;
      }
      // What waited for a transaction to end (or found none running) goes in one batch.
      const collected = share && (lingered || busy === 0);
      lingered = false;
      clearTimeout(linger);
      linger = undefined;
      // Otherwise spread the ready keys over the free slots (handlers run one after another in
      // a transaction, so slow ones go faster side by side); under load one slot frees at a time
      // and takes a full batch.
      const size = collected
        ? options.batchSize
        : Math.min(options.batchSize, Math.ceil(ready.size / (options.concurrency - busy)));
      const batch: Item[] = [];
      let keys = 0;
      for (const key of ready) {
        const queue = queues.get(key);
        const head = queue?.[0];
        if (queue === undefined || head === undefined) {
          ready.delete(key);
          continue;
        }
        if (head.solo && batch.length > 0) continue;
        ready.delete(key);
        if (head.ref.attempt > options.maxDeliver) {
          // Every earlier delivery died with its process (or was handed back at a stop): do not
          // risk crashing another one.
          const error = new Error(
            `delivered ${head.ref.attempt} times without being acknowledged (max ${options.maxDeliver})`,
          );
          track(deadLetterAndAdvance(head, 'max-deliveries', error));
          continue;
        }
        batch.push(head);
        keys++;
        if (head.solo) break;
        // The key's next events come along, in order: they would have to wait for the head
        // anyway, and a backlog of one key then takes a transaction per batch, not per event.
        for (let i = 1; i < queue.length && batch.length < options.batchSize; i++) {
          const next = queue[i]!;
          if (next.solo || next.ref.attempt > options.maxDeliver) break;
          batch.push(next);
        }
        if (keys >= size || batch.length >= options.batchSize) break;
      }
      if (batch.length === 0) continue;
      busy++;
      track(
        runBatch(batch).finally(() => {
          busy--;
          if (ready.size > 0 && !dispatchQueued) {
            dispatchQueued = true;
            queueMicrotask(dispatch);
          }
        }),
      );
    }
  }

  async function runBatch(batch: Item[]): Promise<void> {
    const outcome = await handleBatch(batch, options, abort.signal);
    if (outcome.ok) {
      learn(outcome.durationMs, outcome.handlersMs, batch.length - outcome.duplicates.size);
      announce('consumer:committed', {
        consumer: name,
        events: batch.length,
        duplicates: outcome.duplicates.size,
        durationMs: outcome.durationMs,
      });
      for (const item of batch) {
        release(item.msg, 'ack');
        if (outcome.duplicates.has(item)) announce('consumer:duplicate', item.ref);
        else {
          announce('consumer:processed', {
            ...item.ref,
            durationMs: outcome.durationMs,
            batchSize: batch.length,
          });
        }
        advance(item);
      }
      return;
    }
    const culprit = outcome.culprit ?? (batch.length === 1 ? batch[0] : undefined);
    // Only a key's head is retried with backoff. A culprit behind earlier events of its key in
    // the batch is left queued, marked to go alone: those events go again first (without it),
    // then it, as its key's head, where its failure counts.
    const retried = culprit !== undefined && isHead(culprit) ? culprit : undefined;
    if (culprit !== undefined && culprit !== retried) culprit.solo = true;
    for (const item of batch) {
      if (item === retried || !isHead(item)) continue;
      // Its own attempt did not fail: again at once, alone.
      item.solo = true;
      markReady(item.prepared.key);
    }
    if (retried) track(retryLater(retried, outcome.error));
  }

  /** The attempt failed: dead-letter it, or wait for its backoff and make its key ready again. */
  async function retryLater(item: Item, error: Error): Promise<void> {
    const { msg, ref } = item;
    if (isNonRetryableError(error)) return deadLetterAndAdvance(item, 'non-retryable', error);
    if (isRetryLaterError(error)) {
      // Not an attempt: the handler could not do its work, through no fault of the message.
      if (!running) return release(msg, { nakMs: error.delayMs });
      announce('consumer:deferred', { ...ref, delayMs: error.delayMs, error });
      item.solo = true;
      if (!(await sleep(error.delayMs, abort.signal))) {
        return release(msg, { nakMs: error.delayMs });
      }
      if (isHead(item)) markReady(item.prepared.key);
      return;
    }
    const delayMs = backoffDelay(ref.attempt, options.backoff);
    // A handler that failed because we are stopping (ctx.signal) did not really fail its
    // last attempt: give it back rather than dead-letter it.
    if (!running) return release(msg, { nakMs: delayMs });
    if (ref.attempt >= options.maxDeliver) {
      return deadLetterAndAdvance(item, 'max-deliveries', error);
    }
    logger.warn(
      { err: error, consumer: name, eventId: ref.eventId, attempt: ref.attempt, delayMs },
      'handler failed; retrying',
    );
    announce('consumer:retrying', { ...ref, delayMs, error });
    item.solo = true;
    if (!(await sleep(delayMs, abort.signal))) return release(msg, { nakMs: delayMs });
    ref.attempt++;
    if (isHead(item)) markReady(item.prepared.key);
  }

  /**
   * False for an item of an earlier run: a batch that outlived `stopTimeoutMs` may settle after
   * a restart, when the queues hold newly delivered messages.
   */
  function isHead(item: Item): boolean {
    return queues.get(item.prepared.key)?.[0] === item;
  }

  /** The key's head is settled: its next message, if any, may go. */
  function advance(item: Item): void {
    const key = item.prepared.key;
    const queue = queues.get(key);
    if (queue?.[0] !== item) return;
    queue.shift();
    if (queue.length === 0) queues.delete(key);
    else markReady(key);
  }

  async function deadLetterAndAdvance(
    item: Item,
    reason: DeadLetterReason,
    error: Error,
  ): Promise<void> {
    await deadLetter(item, reason, error);
    advance(item);
  }

  /** Publishes the dead letter (retrying while the consumer runs), then terminates the original. */
  async function deadLetter(item: Attempt, reason: DeadLetterReason, error: Error): Promise<void> {
    const { msg, ref } = item;
    const subject = deadLetterSubject(options.deadLetterSubjectPrefix, name, msg.subject);
    const headers = deadLetterHeaders(
      {
        headers: msg.headers,
        subject: msg.subject,
        stream: options.stream,
        streamSequence: msg.info.streamSequence,
        deliveryCount: ref.attempt,
        time: msg.time,
      },
      name,
      reason,
      error,
    );
    for (let attempt = 1; ; attempt++) {
      try {
        // One id per original delivery, so a re-run after a crash cannot double the letter.
        const msgID = `${options.stream}:${name}:${msg.info.streamSequence}`;
        await js!.publish(subject, msg.data, { headers, msgID });
        break;
      } catch (err) {
        emitError(err, `dead-lettering ${subject}`);
        const delayMs = backoffDelay(attempt, options.backoff);
        if (!running || !(await sleep(delayMs, abort.signal))) {
          return release(msg, { nakMs: delayMs });
        }
      }
    }
    release(msg, 'term');
    logger.error(
      { consumer: name, reason, err: error, eventId: ref.eventId, subject: msg.subject },
      'message dead-lettered',
    );
    announce('consumer:deadLettered', { ...ref, reason, error, deadLetterSubject: subject });
  }

  /** Surfaces what nats.js only reports as notifications: the pull loop itself keeps going. */
  async function watchStatus(pull: ConsumerMessages, durable: string): Promise<void> {
    try {
      for await (const status of pull.status()) {
        if (
          status.type === 'consumer_deleted' ||
          status.type === 'consumer_not_found' ||
          status.type === 'stream_not_found'
        ) {
          emitError(new Error(`JetStream reports ${status.type} for ${durable}`), 'pulling');
        } else if (status.type === 'heartbeats_missed') {
          logger.warn({ consumer: name, durable, count: status.count }, 'pull heartbeats missed');
        }
      }
    } catch (err) {
      emitError(err, 'watching the pull status');
    }
  }

  async function start(): Promise<void> {
    if (stopping) await stopping;
    if (running) return;
    starting ??= (async () => {
      const jsm = await jetstreamManager(options.nats);
      for (const durable of durables) {
        await ensureConsumer(jsm, options.stream, { ...options, ...durable });
      }
      js = jetstream(options.nats);
      const client = js;
      const consumers = await Promise.all(
        durables.map((d) => client.consumers.get(options.stream, d.name)),
      );
      abort = new AbortController();
      running = true;
      for (const [i, consumer] of consumers.entries()) {
        const pull = await consumer.consume({
          max_messages: Math.min(options.maxAckPending, MAX_PULL_BATCH),
          expires: options.pullExpiresMs,
          callback: (msg) => {
            try {
              onMessage(msg);
            } catch (err) {
              emitError(err, 'receiving a message');
            }
          },
        });
        pulls.push(pull);
        void watchStatus(pull, durables[i]!.name);
      }
      const beatMs = Math.max(50, Math.floor(options.ackWaitMs / 3));
      heartbeat = setInterval(() => {
        for (const msg of held) msg.working();
      }, beatMs);
      logger.info(
        { consumer: name, stream: options.stream, durables: durables.map((d) => d.name) },
        'consumer started',
      );
      announce('consumer:started', { consumer: name });
    })();
    try {
      await starting;
    } catch (err) {
      running = false;
      for (const pull of pulls) pull.stop();
      pulls = [];
      throw err;
    } finally {
      starting = undefined;
    }
  }

  async function stop(): Promise<void> {
    if (starting) await starting.catch(() => undefined);
    if (!running) return stopping;
    stopping ??= (async () => {
      running = false;
      clearTimeout(linger);
      linger = undefined;
      for (const pull of pulls) pull.stop();
      pulls = [];
      abort.abort(new Error('consumer stopping'));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.allSettled([...tasks]).then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), options.stopTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      clearInterval(heartbeat);
      giveBackInOrder();
      for (const msg of held) release(msg, { nakMs: 0 });
      givenBack.clear();
      queues.clear();
      ready.clear();
      logger.info({ consumer: name, timedOut }, 'consumer stopped');
      announce('consumer:stopped', { consumer: name, timedOut });
    })();
    try {
      await stopping;
    } finally {
      stopping = undefined;
    }
  }

  async function infos(): Promise<ConsumerInfo[]> {
    const jsm = await jetstreamManager(options.nats);
    return Promise.all(durables.map((d) => jsm.consumers.info(options.stream, d.name)));
  }

  async function info(): Promise<ConsumerInfo> {
    const all = await infos();
    const first = all[0]!;
    if (all.length === 1) return first;
    const sum = (pick: (i: ConsumerInfo) => number) => all.reduce((n, i) => n + pick(i), 0);
    return {
      ...first,
      num_pending: sum((i) => i.num_pending),
      num_ack_pending: sum((i) => i.num_ack_pending),
      num_redelivered: sum((i) => i.num_redelivered),
      num_waiting: sum((i) => i.num_waiting),
    };
  }

  return {
    start,
    stop,
    info,
    infos,
    durables: durables.map((d) => d.name),
    events,
    options,
    get running() {
      return running;
    },
  };
}
