import { backlogStats, type Queryable } from '../relay/outboxSql.js';

/** Backlog of the outbox, as `jetbox outbox status` and the console show it. */
export interface OutboxStatus {
  pending: number;
  failed: number;
  oldestPendingAgeSeconds: number;
  /** Rows not yet published, counted by CloudEvent type and status. */
  byType: { type: string; status: string; n: number }[];
}

/** `backlogStats` plus the unpublished rows by type and status. */
export async function outboxStatus(db: Queryable): Promise<OutboxStatus> {
  const stats = await backlogStats(db);
  const { rows } = await db.query<{ type: string; status: string; n: number }>(
    `select type, status, count(*)::int as n from jetbox_outbox where status <> 'published' group by type, status order by type, status`,
  );
  return { ...stats, byType: rows };
}
