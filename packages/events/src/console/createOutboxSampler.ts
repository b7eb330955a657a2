import { backlogStats, type Queryable } from '../relay/outboxSql.js';
import type { ConsoleLog } from './consoleOptions.js';
import { countPublishedSince } from './countPublishedSince.js';

/** One point of the console's chart. */
export interface OutboxSample {
  /** ISO time of the database when sampled. */
  at: string;
  pending: number;
  failed: number;
  /** Rows published per second since the previous sample. */
  publishedPerSecond: number;
}

export interface OutboxSampler {
  /** Takes a sample now, then one every interval until `stop()`. Idempotent. */
  start(): void;
  /** Stops sampling and waits for a sample in flight. Idempotent. */
  stop(): Promise<void>;
  /** The kept samples, oldest first. */
  samples(): OutboxSample[];
}

/**
 * Samples the outbox backlog and publish rate every `intervalMs`, keeping the last `history`
 * samples in memory: the chart has a past as soon as a page opens, at one cheap query pair per
 * interval however many pages are open. A failed sample is logged and skipped.
 */
export function createOutboxSampler(options: {
  db: Queryable;
  intervalMs: number;
  history: number;
  log: ConsoleLog;
}): OutboxSampler {
  const kept: OutboxSample[] = [];
  let since: Date | undefined;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let running = false;

  async function sample(): Promise<void> {
    const backlog = await backlogStats(options.db);
    const published = await countPublishedSince(options.db, since, options.intervalMs);
    const seconds = Math.max((published.now.getTime() - published.since.getTime()) / 1000, 0.001);
    since = published.now;
    kept.push({
      at: published.now.toISOString(),
      pending: backlog.pending,
      failed: backlog.failed,
      publishedPerSecond: published.published / seconds,
    });
    if (kept.length > options.history) kept.splice(0, kept.length - options.history);
  }

  function tick(): void {
    inFlight = sample()
      .catch((err: unknown) => options.log.error({ err }, 'console: outbox sample failed'))
      .finally(() => {
        inFlight = undefined;
        // The next sample is scheduled after this one ends, so slow queries never pile up.
        if (running) timer = setTimeout(tick, options.intervalMs);
      });
  }

  return {
    start() {
      if (running) return;
      running = true;
      tick();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await inFlight;
    },
    samples: () => [...kept],
  };
}
