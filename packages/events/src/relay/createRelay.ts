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
    if (events.listenerCount('relay:error') > 0) events.emit('relay:error', { error: err, phase });
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
    const safety = `the longest gap between two publishes of one row is ${gap} ms (backoffMaxMs ${o.backoffMaxMs} × (1 + jitter ${o.jitter}) + publishTimeoutMs ${o.publishTimeoutMs}); stream ${o.stream} drops duplicates for ${windowMs} ms`;
    if (gap >= windowMs && !o.allowUnsafeRetryHorizon) {
      throw new JetboxError(
        JetboxErrorCode.UnsafeRetryHorizon,
        `unsafe relay configuration: ${safety}, so a retried publish could be stored twice. Lower relay.backoffMaxMs or raise the stream's duplicate window.`,
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

  /** Marks a published batch; runs while the next batch is already publishing. */
  async function recordOutcome(db: Queryable, outcome: BatchOutcome): Promise<void> {
    const { okIds, okSeqs, failures, duplicates, started, ackedAt } = outcome;
    await markPublished(db, okIds, okSeqs);
    metrics.published.inc(okIds.length);
    metrics.duplicates.inc(duplicates);
    metrics.batchSize.observe(outcome.rows);
    if (okIds.length > 0)
      events.emit('relay:published', {
        count: okIds.length,
        duplicates,
        batchMs: performance.now() - started,
        ids: okIds,
        ackedAt,
      });
    if (failures.length > 0) {
      metrics.publishFailures.inc(failures.length);
      const marked = await markFailed(db, failures, o.maxAttempts);
      const byId = new Map(failures.map((f) => [f.id, f]));
      for (const m of marked) {
        const f = byId.get(m.id)!;
        if (m.status === 'failed') metrics.failed.inc();
        events.emit('relay:publishFailed', {
          id: m.id,
          type: f.row.type,
          attempts: m.attempts,
          failed: m.status === 'failed',
          error: f.error,
        });
      }
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
        events.emit('relay:partitions', { owned: leases.owned });
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
        if (count > 0) events.emit('relay:retentionDeleted', { count });
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
   * The drain pipeline: claiming batch k+1 (one connection) overlaps publishing batch k (NATS)
   * and marking batch k-1 (another connection). A seq cursor keeps a claim off rows still in
   * flight; aggregates in flight are held back until their batch is marked, so a later event of
   * an aggregate can never be published beside, or after the failure of, an earlier one.
   */
  const inFlight = new Map<string, number>();
  const onTheWire = new Set<Promise<void>>();
  let marking: Promise<void> = Promise.resolve();
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
  // Rows whose mark committed while the current claim ran: its snapshot may still show them
  // pending, and they are no longer in flight. Without this they were published again (a
  // duplicate PubAck): 3% of the rows at 1,000 events/s.
  let claiming = false;
  const settledDuringClaim = new Set<string>();
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

  async function drainPipeline(): Promise<void> {
    await Promise.all(onTheWire);
    await marking;
  }

  async function drainAll(): Promise<void> {
    await drainPipeline();
    await background;
  }

  function launch(db: Queryable, rows: ClaimedRow[]): void {
    hold(rows);
    const batchStart = BigInt(rows[0]!.seq); // claims come in seq order
    batchStarts.push(batchStart);
    const previousMark = marking;
    const published = publishRows(rows);
    const sent: Promise<void> = published.then(() => {
      onTheWire.delete(sent);
    });
    onTheWire.add(sent);
    marking = published
      .then(async (outcome) => {
        await previousMark;
        await recordOutcome(db, outcome);
      })
      .catch((err: unknown) => report(err, 'mark')) // unmarked rows stay pending: republished, deduplicated
      .finally(() => {
        // A claim running now may have read these rows before their mark committed.
        if (claiming) for (const r of rows) settledDuringClaim.add(r.id);
        release(rows);
        batchStarts.splice(batchStarts.indexOf(batchStart), 1);
      });
  }

  async function run(): Promise<void> {
    let reconnectDelay = 100;
    while (state === 'running') {
      try {
        if (!client) {
          client = await connect();
          lastRebalance = 0;
          reconnectDelay = 100;
          events.emit('relay:reconnected');
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
          claiming = true;
          let claim: Claim;
          try {
            claim = await claimBatch(pool, owned, o.batchSize, start);
          } finally {
            claiming = false;
          }
          const claimed = claim.rows;
          const full = claimed.length >= o.batchSize;
          // A batch marked while the claim ran released its aggregates after the claim's snapshot:
          // their next rows were not claimable then and are now, so the claim did not catch up.
          const stale = settledDuringClaim.size > 0;
          // Later events of an aggregate in flight (not the in-flight rows themselves, which
          // stay pending until marked): they need a claim once that batch is marked.
          const held = claimed.find((r) => inFlight.has(r.key) && !inFlightIds.has(r.id));
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
              (r) => !inFlight.has(r.key) && !settledDuringClaim.has(r.id),
            );
            // Two batches on the wire: the second keeps NATS busy while the first's last PubAcks
            // come back, and memory stays bounded by two batches.
            while (onTheWire.size >= BATCHES_ON_THE_WIRE) await Promise.race(onTheWire);
            if (rows.length > 0) launch(pool, rows);
            else await marking; // everything claimed is in flight: wait for it instead of re-claiming it
            if (claimed.length >= o.batchSize) continue;
            cursor = restartPoint(); // reached the end: rescan held-back rows
            // Caught up from the restart point with nothing held back: another claim now could
            // only find rows whose commit will wake the relay anyway (1 claim per wake-up, not 3).
            if (heldBack || !atRestart || stale) continue;
          } else if (stale || inFlight.size > 0 || cursor !== restartPoint()) {
            await drainPipeline();
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

  async function start(): Promise<void> {
    if (state !== 'idle') return;
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
    start,
    stop,
    kick,
    [Symbol.asyncDispose]: stop,
  };
}
