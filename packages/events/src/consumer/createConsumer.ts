import { EventEmitter } from 'node:events';
import type { EventType } from '@jetbox/schemas';
import type { QueryResult } from '@mikro-orm/core';
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
import {
  resolveConsumerOptions,
  type ConsumerOptions,
  type ConsumerOptionsInput,
  type EventHandler,
  type HandlerContext,
} from './consumerOptions.js';
import {
  deadLetterHeaders,
  deadLetterSubject,
  type DeadLetterReason,
} from './deadLetterHeaders.js';
import { ensureConsumer } from './ensureConsumer.js';
import { isNonRetryableError } from './NonRetryableError.js';
import { isRetryLaterError } from './RetryLaterError.js';
import { asError, prepareMessage, type PreparedEvent } from './prepareMessage.js';
import { Semaphore } from './Semaphore.js';
import { endSpan, startProcessSpan } from '../tracing/messageSpans.js';
import { context as otelContext } from '@opentelemetry/api';

/** A running (or stopped) consumer. */
export interface Consumer {
  /** Declares the durable consumer and starts pulling. Safe to call twice. */
  start(): Promise<void>;
  /**
   * Stops pulling, aborts `ctx.signal`, waits up to `stopTimeoutMs` for running handlers and
   * gives every message it still holds back to JetStream (`nak`). Safe to call twice.
   */
  stop(): Promise<void>;
  readonly running: boolean;
  /** The durable consumer's state at the server (pending = lag, ack pending, …). */
  info(): Promise<ConsumerInfo>;
  readonly events: EventEmitter<ConsumerEventMap>;
  readonly options: Readonly<ConsumerOptions>;
}

const INSERT_INBOX =
  'insert into jetbox_inbox (consumer, event_id) values (?, ?) on conflict do nothing';
/** Most messages asked of the server per pull; `max_ack_pending` bounds the rest. */
const MAX_PULL_BATCH = 256;

interface Attempt {
  msg: JsMsg;
  ref: MessageRef;
}

/**
 * A JetStream durable pull consumer that applies each event's effects exactly once: the
 * handler's writes and the inbox row `(consumer, event id)` commit in one transaction, and
 * the message is acknowledged after the commit.
 *
 * Ordering: messages are queued per partition key in arrival (stream) order; up to
 * `concurrency` keys are handled at once. A failing message is retried in-process, with
 * backoff, while it keeps its key, so later events of that key wait for it; every message held
 * gets `working()` heartbeats so JetStream does not redeliver it meanwhile. After `maxDeliver`
 * attempts, or at once for a failure no retry can fix, it is dead-lettered and terminated.
 */
export function createConsumer(input: ConsumerOptionsInput): Consumer {
  const options = resolveConsumerOptions(input);
  const { name, logger } = options;
  const events = new EventEmitter<ConsumerEventMap>();
  const semaphore = new Semaphore(options.concurrency);
  /** Every message delivered and not yet acked, naked or terminated. */
  const held = new Set<JsMsg>();
  const queues = new Map<string, PreparedAttempt[]>();
  const tasks = new Set<Promise<void>>();
  let js: JetStreamClient | undefined;
  let messages: ConsumerMessages | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let abort = new AbortController();
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let running = false;

  type PreparedAttempt = Attempt & { prepared: PreparedEvent };

  const handoffDelayMs = options.pullExpiresMs + 250;
  const handled = (type: EventType) => typeof options.handlers[type] === 'function';

  function emitError(err: unknown, during: string): void {
    const error = asError(err);
    logger.error({ err: error, consumer: name, during }, 'consumer background failure');
    events.emit('consumer:error', { consumer: name, error, during });
  }

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
    // A message given back while stopping would otherwise go straight into this instance's
    // still-open pull request and sit there for ackWait: wait until that request has expired.
    else msg.nak(running ? how.nakMs : Math.max(how.nakMs, handoffDelayMs));
  }

  function onMessage(msg: JsMsg): void {
    held.add(msg);
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
      events.emit('consumer:ignored', ref);
      return;
    }
    const item: PreparedAttempt = { msg, ref, prepared };
    const queue = queues.get(prepared.key);
    if (queue) {
      queue.push(item);
      return;
    }
    queues.set(prepared.key, [item]);
    track(runKey(prepared.key));
  }

  /** Works through one key's queue in order; the queue exists while this runs. */
  async function runKey(key: string): Promise<void> {
    const queue = queues.get(key)!;
    try {
      while (queue.length > 0 && running) {
        await processWithRetries(queue[0]!);
        queue.shift();
      }
    } finally {
      queues.delete(key);
      // Stopping: give the rest back in order, so another instance takes over.
      for (const item of queue) if (held.has(item.msg)) release(item.msg, { nakMs: 0 });
    }
  }

  async function processWithRetries(item: PreparedAttempt): Promise<void> {
    const { msg, ref } = item;
    for (let attempt = msg.info.deliveryCount; ; attempt++) {
      ref.attempt = attempt;
      if (attempt > options.maxDeliver) {
        // Only reachable through JetStream's one extra delivery (max_deliver = maxDeliver + 1):
        // every earlier attempt died with its process, so do not risk crashing another one.
        const error = new Error(
          `delivered ${attempt} times without being acknowledged (max ${options.maxDeliver})`,
        );
        return deadLetter(item, 'max-deliveries', error);
      }
      let error: Error;
      await semaphore.acquire();
      try {
        if (!running) return release(msg, { nakMs: 0 });
        await handleOnce(item);
        return;
      } catch (err) {
        error = asError(err);
      } finally {
        semaphore.release();
      }
      if (isNonRetryableError(error)) return deadLetter(item, 'non-retryable', error);
      if (isRetryLaterError(error)) {
        if (!running) return release(msg, { nakMs: error.delayMs });
        events.emit('consumer:deferred', { ...ref, delayMs: error.delayMs, error });
        if (!(await sleep(error.delayMs, abort.signal))) {
          return release(msg, { nakMs: error.delayMs });
        }
        // Not an attempt: the handler could not do its work, through no fault of the message.
        attempt--;
        continue;
      }
      const delayMs = backoffDelay(attempt, options.backoff);
      // A handler that failed because we are stopping (ctx.signal) did not really fail its
      // last attempt: give it back rather than dead-letter it.
      if (!running) return release(msg, { nakMs: delayMs });
      if (attempt >= options.maxDeliver) return deadLetter(item, 'max-deliveries', error);
      logger.warn(
        { err: error, consumer: name, eventId: ref.eventId, attempt, delayMs },
        'handler failed; retrying',
      );
      events.emit('consumer:retrying', { ...ref, delayMs, error });
      if (!(await sleep(delayMs, abort.signal))) return release(msg, { nakMs: delayMs });
    }
  }

  async function handleOnce(item: PreparedAttempt): Promise<void> {
    const { msg, ref, prepared } = item;
    const handler = options.handlers[prepared.type] as EventHandler<EventType>;
    const started = performance.now();
    let duplicate = false;
    const timeout = new AbortController();
    const signal = AbortSignal.any([abort.signal, timeout.signal]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(
          `handler and transaction took longer than ${options.handlerTimeoutMs} ms`,
        );
        timeout.abort(error);
        reject(error);
      }, options.handlerTimeoutMs);
    });
    const traced = startProcessSpan(name, msg.subject, prepared.event);
    const attempt = options.orm.em.fork().transactional(async (em) => {
      const inserted = await em.execute<QueryResult>(
        INSERT_INBOX,
        [name, prepared.event.id],
        'run',
      );
      if (inserted.affectedRows === 0) {
        duplicate = true;
        return;
      }
      const ctx: HandlerContext = {
        em,
        event: prepared.event,
        delivery: {
          deliveryCount: msg.info.deliveryCount,
          attempt: ref.attempt,
          streamSequence: msg.info.streamSequence,
          subject: msg.subject,
        },
        signal,
        logger,
      };
      // The handler's own calls (HTTP, SQL) join the trace the event was recorded in.
      await otelContext.with(traced.context, () => handler(prepared.data as never, ctx));
    });
    try {
      await Promise.race([attempt, timedOut]);
      endSpan(traced.span);
    } catch (err) {
      endSpan(traced.span, err);
      throw err;
    } finally {
      clearTimeout(timer);
      // A late settlement of an abandoned attempt must not surface as an unhandled rejection.
      attempt.catch(() => undefined);
    }
    release(msg, 'ack');
    if (duplicate) events.emit('consumer:duplicate', ref);
    else events.emit('consumer:processed', { ...ref, durationMs: performance.now() - started });
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
    events.emit('consumer:deadLettered', { ...ref, reason, error, deadLetterSubject: subject });
  }

  /** Surfaces what nats.js only reports as notifications: the pull loop itself keeps going. */
  async function watchStatus(pull: ConsumerMessages): Promise<void> {
    try {
      for await (const status of pull.status()) {
        if (
          status.type === 'consumer_deleted' ||
          status.type === 'consumer_not_found' ||
          status.type === 'stream_not_found'
        ) {
          emitError(new Error(`JetStream reports ${status.type} for ${name}`), 'pulling');
        } else if (status.type === 'heartbeats_missed') {
          logger.warn({ consumer: name, count: status.count }, 'pull heartbeats missed');
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
      await ensureConsumer(jsm, options.stream, options);
      js = jetstream(options.nats);
      const consumer = await js.consumers.get(options.stream, name);
      abort = new AbortController();
      running = true;
      messages = await consumer.consume({
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
      void watchStatus(messages);
      const beatMs = Math.max(50, Math.floor(options.ackWaitMs / 3));
      heartbeat = setInterval(() => {
        for (const msg of held) msg.working();
      }, beatMs);
      logger.info({ consumer: name, stream: options.stream }, 'consumer started');
      events.emit('consumer:started', { consumer: name });
    })();
    try {
      await starting;
    } catch (err) {
      running = false;
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
      messages?.stop();
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
      for (const msg of held) release(msg, { nakMs: 0 });
      logger.info({ consumer: name, timedOut }, 'consumer stopped');
      events.emit('consumer:stopped', { consumer: name, timedOut });
    })();
    try {
      await stopping;
    } finally {
      stopping = undefined;
    }
  }

  async function info(): Promise<ConsumerInfo> {
    const jsm = await jetstreamManager(options.nats);
    return jsm.consumers.info(options.stream, name);
  }

  return {
    start,
    stop,
    info,
    events,
    options,
    get running() {
      return running;
    },
  };
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
