import type pg from 'pg';

export interface RequeueFilter {
  /** Only these rows. */
  ids?: string[];
  /** Only rows of this CloudEvent type. */
  type?: string;
}

/** Puts `failed` outbox rows back to `pending` with fresh attempts; returns how many. */
export async function requeueFailed(
  db: Pick<pg.Pool, 'query'>,
  filter: RequeueFilter = {},
): Promise<number> {
  const { rowCount } = await db.query(
    `update jetbox_outbox set status = 'pending', attempts = 0, next_attempt_at = now(), last_error = null
     where status = 'failed' and ($1::uuid[] is null or id = any($1)) and ($2::text is null or type = $2)`,
    [filter.ids ?? null, filter.type ?? null],
  );
  return rowCount ?? 0;
}
