import { jetstreamManager } from '@nats-io/jetstream';
import { Router } from '@koa/router';
import { consumerStats } from '../cli/consumerStats.js';
import { deadLetterDetail, deadLetterSummary } from '../cli/deadLetterJson.js';
import { outboxStatus } from '../cli/outboxStatus.js';
import { listDeadLetters } from '../dlq/listDeadLetters.js';
import { purgeDeadLetters } from '../dlq/purgeDeadLetters.js';
import { redriveDeadLetters } from '../dlq/redriveDeadLetters.js';
import { showDeadLetter } from '../dlq/showDeadLetter.js';
import { requeueFailed } from '../relay/requeueFailed.js';
import { ConsoleError } from './ConsoleError.js';
import type { ConsoleOptions } from './consoleOptions.js';
import type { OutboxSampler } from './createOutboxSampler.js';
import { dlqFilters, dlqLimit, queryParam, seqParam } from './requestParams.js';
import { requireToken } from './requireToken.js';

/** A missing stream is the operator's setup to fix (`jetbox streams apply`), not a crash. */
async function inStream<T>(stream: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (/stream not found/i.test(String(err)))
      throw ConsoleError.notFound(`stream ${stream} does not exist (run jetbox streams apply)`);
    throw err;
  }
}

/** The console's JSON API under `/api`; admin actions need the bearer token. */
export function consoleApi(options: ConsoleOptions, sampler: OutboxSampler): Router {
  const { db, nats, stream, dlqStream, dlqSubjectPrefix } = options;
  const admin = requireToken(options.token);
  const dlq = { stream: dlqStream, subjectPrefix: dlqSubjectPrefix };
  const router = new Router({ prefix: '/api' });

  router.get('/meta', (ctx) => {
    ctx.body = {
      readOnly: options.token === undefined,
      stream,
      dlqStream,
      refreshMs: options.refreshMs,
      sampleIntervalMs: options.sampleIntervalMs,
    };
  });

  router.get('/outbox', async (ctx) => {
    ctx.body = { ...(await outboxStatus(db)), history: sampler.samples() };
  });

  router.post('/outbox/retry-failed', admin, async (ctx) => {
    const type = queryParam(ctx, 'type');
    ctx.body = { requeued: await requeueFailed(db, type ? { type } : {}) };
  });

  router.get('/consumers', async (ctx) => {
    const jsm = await jetstreamManager(nats);
    ctx.body = await inStream(stream, () => consumerStats(jsm, stream));
  });

  router.get('/dlq', async (ctx) => {
    const filters = dlqFilters(ctx);
    const limit = dlqLimit(ctx);
    // One more than asked tells whether the list was cut short.
    const letters = await inStream(dlqStream, () =>
      listDeadLetters(nats, { ...dlq, ...filters, limit: limit + 1 }),
    );
    ctx.body = {
      letters: letters.slice(0, limit).map(deadLetterSummary),
      truncated: letters.length > limit,
    };
  });

  router.post('/dlq/redrive', admin, async (ctx) => {
    const filters = dlqFilters(ctx);
    ctx.body = await inStream(dlqStream, () => redriveDeadLetters(nats, { ...dlq, ...filters }));
  });

  router.post('/dlq/purge', admin, async (ctx) => {
    const consumer = dlqFilters(ctx).consumer;
    // Purge works per consumer or on everything: a narrower filter would be silently ignored.
    for (const narrower of ['type', 'reason']) {
      if (queryParam(ctx, narrower) !== undefined) {
        throw ConsoleError.invalidParameter(narrower, 'purge takes only consumer (or nothing)');
      }
    }
    if (queryParam(ctx, 'confirm') !== 'yes')
      throw ConsoleError.invalidParameter(
        'confirm',
        'must be "yes": purge deletes dead letters for good',
      );
    const purged = await inStream(dlqStream, () =>
      purgeDeadLetters(nats, { ...dlq, ...(consumer ? { consumer } : {}) }),
    );
    ctx.body = { purged };
  });

  router.get('/dlq/:seq', async (ctx) => {
    const seq = seqParam(ctx.params.seq);
    ctx.body = deadLetterDetail(
      await inStream(dlqStream, () => showDeadLetter(nats, dlqStream, seq)),
    );
  });

  router.post('/dlq/:seq/redrive', admin, async (ctx) => {
    const seq = seqParam(ctx.params.seq);
    ctx.body = await inStream(dlqStream, () => redriveDeadLetters(nats, { ...dlq, seqs: [seq] }));
  });

  return router;
}
