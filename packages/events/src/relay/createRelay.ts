import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager, type PubAck } from '@nats-io/jetstream';
import pg from 'pg';
import { endSpan, startPublishSpan } from '../tracing/messageSpans.js';
import { encodeCloudEvent } from '../cloudevents/encodeCloudEvent.js';
import { JetboxError, JetboxErrorCode } from '../errors.js';
import {
  backlogStats,
  claimBatch,
  type Queryable,
  deletePublished,
  markFailed,
  markPublished,
  type ClaimedRow,
} from './outboxSql.js';
import { PartitionLeases } from './partitionLeases.js';
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

/**
 * Creates a relay that moves `jetbox_outbox` rows to JetStream as CloudEvents, with
 * `Nats-Msg-Id` = event id, per-aggregate order, retries with backoff, and any number of relays
 * sharing one outbox. Runs in-process or from the `jetbox relay` CLI.
 */
export function createRelay(options: RelayOptions): Relay {
  const o = resolveRelayOptions(options);
  const events = new EventEmitter<RelayEventMap>();
  const metrics = createRelayMetrics(o.registry);
  const js = jetstream(o.nats, { timeout: o.publishTimeoutMs });
  const leases = new PartitionLeases(o.partitions);

  let client: pg.Client | null = null;
  // Claims and marks run on their own connections so they overlap; locks and LISTEN stay on `client`.
  let pool: pg.Pool = newPool();
  function newPool(): pg.Pool {
    const p = new pg.Pool({
      connectionString: o.databaseUrl,
      max: 3,
      application_name: 'jetbox-relay',
    });
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
    const c = new pg.Client({ connectionString: o.databaseUrl, application_name: 'jetbox-relay' });
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
  async function publishRows(rows: ClaimedRow[]): Promise<BatchOutcome> {
    const started = performance.now();
    const chains = new Map<string, ClaimedRow[]>();
    for (const row of rows) {
      const key = `${row.aggregate_type}\u0000${row.aggregate_id}`;
      const chain = chains.get(key);
      if (chain) chain.push(row);
      else chains.set(key, [row]);
    }
    const okIds: string[] = [];
    const okSeqs: number[] = [];
    const failures: { id: string; error: string; delayMs: number; row: ClaimedRow }[] = [];
    let duplicates = 0;

    const publishOne = (row: ClaimedRow): Promise<PubAck> => {
      const { headers, data } = encodeCloudEvent({
        specversion: '1.0',
        id: row.id,
        source: row.source,
        type: row.type,
        subject: row.aggregate_id,
        time: row.created_at.toISOString(),
        dataschema: row.dataschema,
        datacontenttype: 'application/json',
        partitionkey: row.aggregate_id,
        ...row.headers,
        data: Buffer.from(row.data),
      });
      const acked = js.publish(row.nats_subject, data, {
        msgID: row.id,
        headers,
        timeout: o.publishTimeoutMs,
      });
      // Only events recorded inside a trace get a span: untraced ones cost nothing extra here.
      if (typeof row.headers.traceparent === 'string') {
        const span = startPublishSpan({
          id: row.id,
          type: row.type,
          subject: row.nats_subject,
          headers: row.headers,
        });
        acked.then(
          () => endSpan(span),
          (err: unknown) => endSpan(span, err),
        );
      }
      return acked;
    };
    const settle = (row: ClaimedRow, ack: PubAck) => {
      okIds.push(row.id);
      okSeqs.push(ack.seq);
      if (ack.duplicate) duplicates++;
    };
    const fail = (row: ClaimedRow, err: unknown) => {
      failures.push({
        id: row.id,
        error: String(err instanceof Error ? err.message : err),
        delayMs: retryDelayMs(row.attempts + 1, o),
        row,
      });
    };

    const work: Promise<void>[] = [];
    for (const chain of chains.values()) {
      if (chain.length === 1) {
        const row = chain[0]!;
        work.push(
          publishOne(row).then(
            (ack) => settle(row, ack),
            (err: unknown) => fail(row, err),
          ),
        );
        continue;
      }
      // Event n+1 of an aggregate goes out only after n's PubAck: a failed n must never land after n+1.
      work.push(
        (async () => {
          for (const row of chain) {
            try {
              settle(row, await publishOne(row));
            } catch (err) {
              fail(row, err);
              return; // the rest stay pending, blocked behind the failed row
            }
          }
        })(),
      );
    }
    await Promise.all(work);
    return {
      rows: rows.length,
      okIds,
      okSeqs,
      failures,
      duplicates,
      started,
      ackedAt: performance.now(),
    };
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
      if (await leases.rebalance(c)) {
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
  let publishing: Promise<void> = Promise.resolve();
  let marking: Promise<void> = Promise.resolve();
  let cursor = '0';

  const keyOf = (r: ClaimedRow) => `${r.aggregate_type}\u0000${r.aggregate_id}`;
  const hold = (rows: ClaimedRow[]) =>
    rows.forEach((r) => inFlight.set(keyOf(r), (inFlight.get(keyOf(r)) ?? 0) + 1));
  const release = (rows: ClaimedRow[]) =>
    rows.forEach((r) => {
      const n = (inFlight.get(keyOf(r)) ?? 1) - 1;
      if (n === 0) inFlight.delete(keyOf(r));
      else inFlight.set(keyOf(r), n);
    });

  async function drainPipeline(): Promise<void> {
    await publishing;
    await marking;
  }

  async function drainAll(): Promise<void> {
    await drainPipeline();
    await background;
  }

  function launch(db: Queryable, rows: ClaimedRow[]): void {
    hold(rows);
    const previousMark = marking;
    const published = publishRows(rows);
    publishing = published.then(() => undefined);
    marking = published
      .then(async (outcome) => {
        await previousMark;
        await recordOutcome(db, outcome);
      })
      .catch((err: unknown) => report(err, 'mark')) // unmarked rows stay pending: republished, deduplicated
      .finally(() => release(rows));
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
        const c = client;
        if (Date.now() - lastRebalance >= o.pollIntervalMs) await drainPipeline(); // partitions may move
        await housekeeping(c, Date.now());
        kicked = false;
        const owned = leases.owned;
        if (natsUp && owned.length > 0) {
          const claimed = await claimBatch(pool, owned, o.batchSize, cursor);
          if (claimed.length > 0) {
            cursor = claimed.at(-1)!.seq;
            const rows = claimed.filter((r) => !inFlight.has(keyOf(r)));
            await publishing; // one batch on the wire at a time keeps memory bounded
            if (rows.length > 0) launch(pool, rows);
            else await marking; // everything claimed is in flight: wait for it instead of re-claiming it
            if (claimed.length < o.batchSize) cursor = '0'; // reached the end: next claim rescans held-back rows
            continue;
          }
          if (cursor !== '0' || inFlight.size > 0) {
            await drainPipeline();
            cursor = '0';
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
      } catch (err) {
        report(err, 'loop');
        await drainPipeline();
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
