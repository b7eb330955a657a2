import type { Queryable } from '../relay/outboxSql.js';

/**
 * Rows published after `since` (else in the last `windowMs`), and the database's clock, so the
 * next call continues exactly where this one ended. Runs on the retention index.
 */
export async function countPublishedSince(
  db: Queryable,
  since: Date | undefined,
  windowMs: number,
): Promise<{ now: Date; since: Date; published: number }> {
  const { rows } = await db.query<{ now: Date; since: Date; n: number }>(
    `select now() as now, s.since, (select count(*)::int from jetbox_outbox
       where status = 'published' and published_at > s.since) as n
     from (select coalesce($1::timestamptz, now() - make_interval(secs => $2 / 1000.0)) as since) s`,
    [since ?? null, windowMs],
  );
  const r = rows[0]!;
  return { now: r.now, since: r.since, published: r.n };
}
