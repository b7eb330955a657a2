import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import type { EncodedMessage } from '../cloudevents/encodeCloudEvent.js';
import { endSpan, startPublishSpan } from '../tracing/messageSpans.js';
import { JetboxError, JetboxErrorCode } from '../errors.js';
import {
  backlogStats,
  claimBatch,
  type Queryable,
  deletePublished,
  markFailed,
  markPublished,
  type Claim,
  type ClaimedRow,
  type Marks,
} from './outboxSql.js';
import { createPubAckPublisher } from './createPubAckPublisher.js';
import { encodeOutboxRow } from './encodeOutboxRow.js';
import { ClaimFloor } from './ClaimFloor.js';
import { PartitionLeases } from './partitionLeases.js';
import { relaySessionConfig } from './relaySession.js';
import type { RelayEventMap } from './relayEvents.js';
import { createRelayMetrics, type RelayMetrics } from './relayMetrics.js';
import {
  resolveRelayOptions,
  retryDelayMs,
  worstRetryGapMs,
  type RelayOptions,
} from './relayOptions.js';

interface BatchOutcome {
  rows: number;
  okIds: string[];
  okSeqs: number[];
  failures: { id: string; error: string; delayMs: number; row: ClaimedRow }[];
  duplicates: number;
  started: number;
  ackedAt: number;
}

/** A published batch whose rows wait for their mark. */
interface Unmarked {
  rows: ClaimedRow[];
  outcome: BatchOutcome;
  batchStart: bigint;
  done: () => void;
}

export interface Relay extends AsyncDisposable {
  readonly events: EventEmitter<RelayEventMap>;
  readonly metrics: RelayMetrics;
  /** Partitions this relay currently publishes. */
  readonly partitions: number[];
  /** Connects, checks the stream's duplicate window, takes partitions and starts draining. Idempotent. */
  start(): Promise<void>;
  /** Finishes the in-flight batch (within `stopTimeoutMs`), releases partitions, closes. Idempotent. */
  stop(): Promise<void>;
  /** Wakes the relay now (also done by the outbox after each commit and by NOTIFY). */
  kick(): void;
}

const NOTIFY_CHANNEL = 'jetbox_outbox';
const RECONNECT_MAX_MS = 5000;
const BATCHES_ON_THE_WIRE = 2;
/**
 * How long a published batch waits for the next claim to mark it before it is marked alone. A
 * claim carries the marks of the batches published since the last one, which saves a statement
 * (a round trip and a wake-up on both sides) per batch: at 1,000 events/s, one of the two the
 * relay ran per event. Rows wait in flight meanwhile, which holds back only their aggregates.
 */
const MARK_DELAY_MS = 20;

/**
 * Creates a relay that moves `jetbox_outbox` rows to JetStream as CloudEvents, with
 * `Nats-Msg-Id` = event id, per-aggregate order, retries with backoff, and any number of relays
 * sharing one outbox. Runs in-process or from the `jetbox relay` CLI.
 */
export function createRelay(options: RelayOptions): Relay {
  const o = resolveRelayOptions(options);
  const events = new EventEmitter<RelayEventMap>();
  const metrics = createRelayMetrics(o.registry);
  const leases = new PartitionLeases(o.partitions);
  // Subscribes to its PubAck inbox on first use; closed (and resubscribed after a restart) by stop().
  const publisher = createPubAckPublisher(o.nats, o.publishTimeoutMs);

  let client: pg.Client | null = null;
  // Claims and marks run on their own connections so they overlap; locks and LISTEN stay on `client`.
  let pool: pg.Pool = newPool();
  function newPool(): pg.Pool {
    const p = new pg.Pool({ ...relaySessionConfig(o.databaseUrl), max: 3 });
    p.on('error', (err) => report(err, 'postgres'));
    return p;
  }
  let state: 'idle' | 'running' | 'stopping' = 'idle';
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let kicked = false;
  let natsUp = true;
  let unsubscribeOutbox: (() => void) | null = null;
  let lastRebalance = 0;
  let lastRetention = 0;
  let lastStats = 0;
  let background: Promise<void> | null = null;

  const kick = () => {
    kicked = true;
    wake?.();
  };

  const report = (error: unknown, phase: string) => {
    const err = error instanceof Error ? error : new Error(String(error));
    try {
      if (events.listenerCount('relay:error') > 0)
        events.emit('relay:error', { error: err, phase });
    } catch {
      // A throwing error listener has nowhere left to report to; the relay goes on.
    }
  };
  /** Emits an event; a listener that throws is reported, never thrown into the pipeline. */
  const announce = <K extends keyof RelayEventMap>(name: K, ...args: RelayEventMap[K]) => {
    try {
      (events.emit as (name: K, ...args: RelayEventMap[K]) => boolean)(name, ...args);
    } catch (err) {
      report(err, 'listener');
    }
  };

  async function connect(): Promise<pg.Client> {
    const c = new pg.Client(relaySessionConfig(o.databaseUrl));
    c.on('error', (err) => {
      report(err, 'postgres');
      if (client === c) client = null;
      kick();
    });
    c.on('notification', kick);
    await c.connect();
    await c.query(`listen ${NOTIFY_CHANNEL}`);
    leases.reset();
    return c;
  }

  async function checkDuplicateWindow(): Promise<void> {
    const gap = worstRetryGapMs(o);
    let windowMs: number | null = null;
    try {
      const jsm = await jetstreamManager(o.nats);
      const info = await jsm.streams.info(o.stream);
      windowMs = Math.round(info.config.duplicate_window / 1e6);
    } catch (err) {
      throw new JetboxError(
        JetboxErrorCode.StreamConfig,
        `relay cannot read stream ${o.stream} (apply streams first: jetbox streams apply): ${String(err)}`,
        { cause: err },
      );
    }
    const safety = `the longest gap between two publishes of one row is ${gap} ms (backoffMaxMs ${o.backoffMaxMs} × (1 + jitter ${o.jitter}) + publishTimeoutMs ${o.publishTimeoutMs} + pollIntervalMs ${o.pollIntervalMs}); stream ${o.stream} drops duplicates for ${windowMs} ms`;
    if (gap >= windowMs && !o.allowUnsafeRetryHorizon) {
      throw new JetboxError(
        JetboxErrorCode.UnsafeRetryHorizon,
        `unsafe relay configuration: ${safety}, so a retried publish could be stored twice. Lower relay.backoffMaxMs or relay.pollIntervalMs, or raise the stream's duplicate window.`,
      );
    }
    events.emit('relay:started', {
      retryGapMs: gap,
      duplicateWindowMs: windowMs,
      safety: `safe: ${safety}`,
    });
  }

  let statusIterator: ReturnType<typeof o.nats.status> | null = null;
  async function watchNats(): Promise<void> {
    statusIterator = o.nats.status();
    // While NATS is away the relay waits instead of spending rows' attempts on a dead link.
    for await (const s of statusIterator) {
      if (s.type === 'disconnect') natsUp = false;
      if (s.type === 'reconnect') {
        natsUp = true;
        kick();
      }
    }
  }

  /** Publishes one batch: aggregates in parallel, each aggregate's rows one after another. */
  function publishRows(rows: ClaimedRow[]): Promise<BatchOutcome> {
    const outcome: BatchOutcome = {
      rows: rows.length,
      okIds: [],
      okSeqs: [],
      failures: [],
      duplicates: 0,
      started: performance.now(),
      ackedAt: 0,
    };
    const chains = new Map<string, ClaimedRow[]>();
    for (const row of rows) {
      const chain = chains.get(row.key);
      if (chain) chain.push(row);
      else chains.set(row.key, [row]);
    }
    const fail = (row: ClaimedRow, err: unknown) => {
      outcome.failures.push({
        id: row.id,
        error: String(err instanceof Error ? err.message : err),
        delayMs: retryDelayMs(row.attempts + 1, o),
        row,
      });
    };
    return new Promise((resolve) => {
      let open = chains.size;
      const finish = () => {
        if (--open > 0) return;
        outcome.ackedAt = performance.now();
        resolve(outcome);
      };
      // Event n+1 of an aggregate goes out only after n's PubAck: a failed n must never land after n+1.
      const send = (chain: ClaimedRow[], i: number): void => {
        const row = chain[i]!;
        let message: EncodedMessage;
        try {
          message = encodeOutboxRow(row);
        } catch (err) {
          fail(row, err);
          finish(); // the rest of the chain stays pending, blocked behind the failed row
          return;
        }
        // Only events recorded inside a trace get a span: untraced ones cost nothing extra here.
        const span =
          typeof row.headers.traceparent === 'string'
            ? startPublishSpan({
                id: row.id,
                type: row.type,
                subject: row.nats_subject,
                headers: row.headers,
              })
            : undefined;
        publisher.publish(row.nats_subject, message.data, message.headers, row.id, (err, ack) => {
          if (span) endSpan(span, err ?? (ack ? undefined : new Error('no PubAck')));
          if (err || !ack) {
            fail(row, err);
            finish();
            return;
          }
          outcome.okIds.push(row.id);
          outcome.okSeqs.push(ack.seq);
          if (ack.duplicate) outcome.duplicates++;
          if (i + 1 < chain.length) send(chain, i + 1);
          else finish();
        });
      };
      if (open === 0) finish();
      for (const chain of chains.values()) send(chain, 0);
    });
  }

  /** Counts and reports a batch whose published rows have been marked. */
  function recordPublished(outcome: BatchOutcome): void {
    const { okIds, duplicates, started, ackedAt } = outcome;
    metrics.published.inc(okIds.length);
    metrics.duplicates.inc(duplicates);
    metrics.batchSize.observe(outcome.rows);
    if (okIds.length > 0)
      announce('relay:published', {
        count: okIds.length,
        duplicates,
        batchMs: performance.now() - started,
        ids: okIds,
        ackedAt,
      });
  }

  /** Marks a batch that had failures at once: its published rows, then the failed ones. */
  async function recordWithFailures(db: Queryable, outcome: BatchOutcome): Promise<void> {
    const { failures } = outcome;
    await markPublished(db, outcome.okIds, outcome.okSeqs);
    recordPublished(outcome);
    metrics.publishFailures.inc(failures.length);
    const marked = await markFailed(db, failures, o.maxAttempts);
    const byId = new Map(failures.map((f) => [f.id, f]));
    for (const m of marked) {
      const f = byId.get(m.id)!;
      if (m.status === 'failed') metrics.failed.inc();
      announce('relay:publishFailed', {
        id: m.id,
        type: f.row.type,
        attempts: m.attempts,
        failed: m.status === 'failed',
        error: f.error,
      });
    }
  }

  async function housekeeping(c: pg.Client, now: number): Promise<void> {
    if (now - lastRebalance >= o.pollIntervalMs) {
      lastRebalance = now;
      // Only giving a partition back needs the pipeline empty; taking one does not.
      if (await leases.rebalance(c, drainPipeline)) {
        floor.reset(); // partitions taken may have rows anywhere below the floor
        cursor = '0';
        metrics.ownedPartitions.set(leases.owned.length);
        announce('relay:partitions', { owned: leases.owned });
      }
    }
    // Retention and statistics run beside the drain on the pool, never in the publish path.
    if (background) return;
    const retentionDue = o.retentionMs > 0 && now - lastRetention >= o.retentionIntervalMs;
    const statsDue = now - lastStats >= Math.max(o.pollIntervalMs, 1000);
    if (!retentionDue && !statsDue) return;
    if (retentionDue) lastRetention = now;
    if (statsDue) lastStats = now;
    background = (async () => {
      if (retentionDue) {
        // Bounded batches, one per round, so retention never holds up publishing.
        const count = await deletePublished(pool, o.retentionMs, 1000);
        if (count === 1000) lastRetention = 0;
        if (count > 0) announce('relay:retentionDeleted', { count });
      }
      if (statsDue) {
        const st = await backlogStats(pool);
        metrics.backlog.set(st.pending);
        metrics.failedRows.set(st.failed);
        metrics.oldestPendingAge.set(st.oldestPendingAgeSeconds);
      }
    })()
      .catch((err: unknown) => report(err, 'housekeeping'))
      .finally(() => (background = null));
  }

  /**
   * The drain pipeline: claiming batch k+1 overlaps publishing batches k and k-1 (NATS), and the
   * claim marks the batches published since the last one in the same statement. A seq cursor
   * keeps a claim off rows still in flight; aggregates in flight are held back until their batch
   * is marked, so a later event of an aggregate can never be published beside, or after the
   * failure of, an earlier one.
   */
  const inFlight = new Map<string, number>();
  const onTheWire = new Set<Promise<void>>();
  /** Marks not yet committed: deferred ones, and those of batches with failures. */
  const marks = new Set<Promise<void>>();
  /** Published batches waiting for the next claim (or, after MARK_DELAY_MS, a mark of their own). */
  let unmarked: Unmarked[] = [];
  let markTimer: NodeJS.Timeout | null = null;
  /** The last claim was full: more batches follow at once, each marked on its own connection. */
  let draining = false;
  let cursor = '0';
  const floor = new ClaimFloor();
  const batchStarts: bigint[] = []; // lowest seq of each batch not yet marked
  let lastSweep = 0;

  /**
   * Where a claim starts once the rows after the cursor are used up: from seq 0 once per poll
   * interval (rows due for a retry, rows the floor passed), otherwise from the floor.
   */
  let lowestHeld: bigint | null = null; // lowest row held back behind its aggregate's row in flight
  const lowestPending = (): bigint | null => {
    let low = lowestHeld;
    for (const b of batchStarts) if (low === null || b < low) low = b;
    return low;
  };
  const restartPoint = (): string => {
    if (Date.now() - lastSweep >= o.pollIntervalMs) return '0';
    return floor.restartFrom(lowestPending());
  };

  const inFlightIds = new Set<string>();
  // Rows marked while the current claim ran, by it or beside it: its snapshot still shows them
  // pending, and they are no longer in flight. Without this they were published again (a
  // duplicate PubAck): 3% of the rows at 1,000 events/s.
  let claiming = false;
  const settledDuringClaim = new Set<string>();
  // One of those marks committed beside the claim, which may then have missed their aggregates'
  // next rows (the claim counts the rows it marks itself that have a next row).
  let markedBesideClaim = false;
  // Aggregates of rows whose publish failed, settled while the claim ran: the claim's snapshot may
  // not show the failure yet, so their later rows it returned must wait for the next claim.
  const failedDuringClaim = new Set<string>();
  const hold = (rows: ClaimedRow[]) =>
    rows.forEach((r) => {
      inFlight.set(r.key, (inFlight.get(r.key) ?? 0) + 1);
      inFlightIds.add(r.id);
    });
  const release = (rows: ClaimedRow[]) =>
    rows.forEach((r) => {
      inFlightIds.delete(r.id);
      const n = (inFlight.get(r.key) ?? 1) - 1;
      if (n === 0) inFlight.delete(r.key);
      else inFlight.set(r.key, n);
    });

  /** Rows out of flight once their mark committed (or failed: they stay pending, to be republished). */
  const settle = (rows: ClaimedRow[], batchStart: bigint, byClaim: boolean) => {
    if (byClaim || claiming) for (const r of rows) settledDuringClaim.add(r.id);
    if (claiming && !byClaim) markedBesideClaim = true;
    release(rows);
    batchStarts.splice(batchStarts.indexOf(batchStart), 1);
  };

  /** Takes the deferred marks, for a claim to carry or for a mark of their own. */
  const takeUnmarked = (): { batches: Unmarked[]; marks: Marks } => {
    if (markTimer) clearTimeout(markTimer);
    markTimer = null;
    const batches = unmarked;
    unmarked = [];
    return {
      batches,
      marks: {
        ids: batches.flatMap((b) => b.outcome.okIds),
        streamSeqs: batches.flatMap((b) => b.outcome.okSeqs),
      },
    };
  };

  /** Ends deferred marks: counted and reported if `marked`, and out of flight either way. */
  const finishMarks = (batches: Unmarked[], marked: boolean, byClaim: boolean) => {
    for (const b of batches) {
      if (marked) recordPublished(b.outcome); // never throws: listeners go through announce
      settle(b.rows, b.batchStart, byClaim);
      b.done();
    }
  };

  /** Marks the deferred batches now, in a statement of their own. */
  async function flushMarks(): Promise<void> {
    const { batches, marks: toMark } = takeUnmarked();
    if (batches.length === 0) return;
    let marked = false;
    try {
      await markPublished(pool, toMark.ids, toMark.streamSeqs);
      marked = true;
    } catch (err) {
      report(err, 'mark'); // unmarked rows stay pending: republished, deduplicated
    } finally {
      finishMarks(batches, marked, false);
    }
  }

  /**
   * Until the next claim can see something new about the rows in flight: their PubAcks are in
   * (that claim then carries their marks), or, with nothing left to carry, their marks committed.
   */
  async function inFlightSettling(): Promise<void> {
    await Promise.all(onTheWire);
    if (unmarked.length === 0) await Promise.all(marks);
  }

  async function drainPipeline(): Promise<void> {
    await Promise.all(onTheWire);
    await flushMarks();
    await Promise.all(marks);
  }

  async function drainAll(): Promise<void> {
    await drainPipeline();
    await background;
  }

  function launch(db: Queryable, rows: ClaimedRow[]): void {
    hold(rows);
    const batchStart = BigInt(rows[0]!.seq); // claims come in seq order
    batchStarts.push(batchStart);
    const published = publishRows(rows);
    const sent: Promise<void> = published.then(() => {
      onTheWire.delete(sent);
    });
    onTheWire.add(sent);
    const mark: Promise<void> = published
      .then(async (outcome) => {
        if (outcome.failures.length === 0) {
          await new Promise<void>((done) => {
            unmarked.push({ rows, outcome, batchStart, done });
            // Draining, the mark runs beside the next claim, which is busy enough already;
            // otherwise the next claim carries it, or it goes alone after MARK_DELAY_MS.
            if (draining) void flushMarks();
            else markTimer ??= setTimeout(() => void flushMarks(), MARK_DELAY_MS);
          });
          return;
        }
        try {
          await recordWithFailures(db, outcome);
        } catch (err) {
          report(err, 'mark'); // unmarked rows stay pending: republished, deduplicated
        } finally {
          if (claiming) for (const f of outcome.failures) failedDuringClaim.add(f.row.key);
          settle(rows, batchStart, false);
        }
      })
      .finally(() => marks.delete(mark));
    marks.add(mark);
  }

  async function run(): Promise<void> {
    let reconnectDelay = 100;
    while (state === 'running') {
      try {
        if (!client) {
          client = await connect();
          lastRebalance = 0;
          reconnectDelay = 100;
          announce('relay:reconnected');
        }
        await housekeeping(client, Date.now());
        kicked = false;
        const owned = leases.owned;
        if (natsUp && owned.length > 0) {
          const start = cursor;
          // A claim from the restart point or below looks at every row the floor may pass.
          const fresh = BigInt(start) <= BigInt(floor.restartFrom(lowestPending()));
          const atRestart = start === restartPoint();
          if (start === '0') lastSweep = Date.now();
          settledDuringClaim.clear();
          failedDuringClaim.clear();
          markedBesideClaim = false;
          const carried = takeUnmarked();
          claiming = true;
          let claim: Claim;
          try {
            claim = await claimBatch(pool, owned, o.batchSize, start, carried.marks);
          } catch (err) {
            finishMarks(carried.batches, false, false);
            throw err;
          } finally {
            claiming = false;
          }
          finishMarks(carried.batches, true, true);
          const claimed = claim.rows;
          const full = claimed.length >= o.batchSize;
          draining = full;
          // A batch marked while the claim ran (by it, or beside it) released its aggregates after
          // the claim's snapshot: their next rows were not claimable then and are now, so the
          // claim did not catch up.
          const stale = markedBesideClaim || claim.markedWithLater > 0;
          // Later events of an aggregate in flight (not the in-flight rows themselves, which
          // stay pending until marked), or of one whose publish failed while the claim ran (its
          // snapshot may not show the failure yet): they need another claim.
          const isHeld = (r: ClaimedRow) =>
            (inFlight.has(r.key) && !inFlightIds.has(r.id)) ||
            (failedDuringClaim.has(r.key) && !settledDuringClaim.has(r.id));
          const held = claimed.find(isHeld);
          const heldBack = held !== undefined;
          // A claim from below the lowest held row sees it again while it is still held back,
          // unless the claim was full and stopped short of it.
          if (lowestHeld === null || BigInt(start) < lowestHeld) {
            const stoppedShort =
              full && lowestHeld !== null && BigInt(claimed.at(-1)!.seq) < lowestHeld;
            if (held) lowestHeld = BigInt(held.seq);
            else if (!stoppedShort) lowestHeld = null;
          }
          floor.observe(
            {
              ...claim,
              start,
              lastSeq: claimed.at(-1)?.seq ?? null,
              full,
            },
            fresh,
            lowestHeld,
          );
          if (claimed.length > 0) {
            cursor = claimed.at(-1)!.seq;
            const rows = claimed.filter(
              (r) => !inFlight.has(r.key) && !settledDuringClaim.has(r.id) && !isHeld(r),
            );
            // Two batches on the wire: the second keeps NATS busy while the first's last PubAcks
            // come back, and memory stays bounded by two batches.
            while (onTheWire.size >= BATCHES_ON_THE_WIRE) await Promise.race(onTheWire);
            if (rows.length > 0) launch(pool, rows);
            else await inFlightSettling(); // everything claimed is in flight: wait instead of re-claiming it
            // A full claim goes on at once: from the cursor, or from seq 0 when the sweep is due,
            // so rows due for a retry wait at most a poll interval, also during a long drain (the
            // start-up check counts on it).
            if (claimed.length >= o.batchSize) {
              if (Date.now() - lastSweep >= o.pollIntervalMs) cursor = '0';
              continue;
            }
            cursor = restartPoint(); // reached the end: rescan held-back rows
            // Caught up from the restart point with nothing held back: another claim now could
            // only find rows whose commit will wake the relay anyway (1 claim per wake-up, not 3).
            if (heldBack || !atRestart || stale) continue;
          } else if (stale || inFlight.size > 0 || cursor !== restartPoint()) {
            await inFlightSettling();
            cursor = restartPoint();
            continue;
          }
        }
        if (kicked || state !== 'running') continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, o.pollIntervalMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
        cursor = restartPoint();
      } catch (err) {
        report(err, 'loop');
        await drainPipeline();
        floor.reset();
        lowestHeld = null;
        cursor = '0';
        // A broken connection loses its locks: drop it and start over with fresh leases.
        const broken = client;
        client = null;
        leases.reset();
        await broken?.end().catch(() => undefined);
        if (state !== 'running') break;
        await sleep(reconnectDelay);
        reconnectDelay = Math.min(RECONNECT_MAX_MS, reconnectDelay * 2);
      }
    }
    await drainAll();
  }

  // start and stop run one after another: a stop during a start waits for the start (it found
  // no loop to wait for and left the relay unable to run again), and a start after a stop that
  // timed out waits for the stopped loop to end (two loops would share the claim state).
  let lifecycle: Promise<unknown> = Promise.resolve();
  const serially = (step: () => Promise<void>): Promise<void> => {
    const next = lifecycle.then(step, step);
    lifecycle = next.catch(() => undefined);
    return next;
  };

  /** Waits for a loop left running by a stop that timed out; false if it is still running. */
  async function previousLoopEnded(): Promise<boolean> {
    if (!loop) return true;
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      loop.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>(
        (resolve) => (timer = setTimeout(() => resolve(false), o.stopTimeoutMs)),
      ),
    ]);
    clearTimeout(timer);
    if (ended) loop = null;
    return ended;
  }

  async function start(): Promise<void> {
    if (state !== 'idle') return;
    if (!(await previousLoopEnded())) {
      throw new JetboxError(
        JetboxErrorCode.StopTimeout,
        `relay cannot start: the run it stopped has not ended ${o.stopTimeoutMs} ms after its stop timed out; try again`,
      );
    }
    state = 'running';
    if (pool.ending) pool = newPool();
    try {
      await checkDuplicateWindow();
      client = await connect();
    } catch (err) {
      state = 'idle';
      throw err;
    }
    unsubscribeOutbox = o.outbox?.onCommit(kick) ?? null;
    void watchNats().catch((err: unknown) => report(err, 'nats-status'));
    loop = run();
  }

  async function stop(): Promise<void> {
    if (state !== 'running') return;
    state = 'stopping';
    unsubscribeOutbox?.();
    (statusIterator as { stop?: () => void } | null)?.stop?.();
    wake?.();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      loop!.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), o.stopTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut)
      report(
        new JetboxError(
          JetboxErrorCode.StopTimeout,
          `relay did not finish its batch within ${o.stopTimeoutMs} ms; unmarked rows will be republished and deduplicated`,
        ),
        'stop',
      );
    const c = client;
    client = null;
    leases.reset();
    await c?.end().catch(() => undefined);
    await pool.end().catch(() => undefined);
    publisher.close();
    state = 'idle';
    events.emit('relay:stopped');
  }

  return {
    events,
    metrics,
    get partitions() {
      return leases.owned;
    },
    start: () => serially(start),
    stop: () => serially(stop),
    kick,
    [Symbol.asyncDispose]: () => serially(stop),
  };
}
