import type pg from 'pg';

/** A client or a pool. */
export type Queryable = Pick<pg.Pool, 'query'>;

/** A claimed outbox row, with its data still as JSON text so it is never parsed and re-serialised. */
export interface ClaimedRow {
  id: string;
  seq: string;
  aggregate_type: string;
  aggregate_id: string;
  type: string;
  source: string;
  dataschema: string;
  nats_subject: string;
  headers: Record<string, string>;
  data: string;
  attempts: number;
  created_at: Date;
  /** Aggregate type and id in one string, for the relay's per-aggregate bookkeeping. */
  key: string;
}

/**
 * Marks reach their rows through the primary key, by an index condition (`id = any(ids)`) as
 * well as the join with the ids' stream seqs, and check the status as a parameter. Generic plans
 * made while the outbox looked empty otherwise hashed a whole index to find a batch's rows: the
 * claim index (dead entries included, until the next VACUUM; `status = 'pending'` matched its
 * predicate) or the primary key, so each mark cost more with every row in the table (≈ 7 ms for
 * two rows after 1,800 had been published).
 */
const PENDING = 'pending';

/** The update that marks rows published, given the placeholders of its ids, stream seqs and PENDING. */
const markPublishedSql = (ids: string, streamSeqs: string, pending: string) => `
update jetbox_outbox o
set status = 'published', published_at = now(), stream_seq = v.stream_seq, attempts = o.attempts + 1, last_error = null
from unnest(${ids}::uuid[], ${streamSeqs}::bigint[]) as v(id, stream_seq)
where o.id = any(${ids}::uuid[]) and o.id = v.id and o.status = ${pending}`;

// A row is claimable when no earlier row of its aggregate is still to go out ahead of it: failed,
// backing off after a failed publish (or not due yet), behind the cursor (held back or in
// flight), or in a partition this relay does not own. Earlier rows that are claimable themselves
// come first in seq order, in the same batch.
// - Only the aggregate's earliest unpublished row before it is looked at. Rows that failed or
//   back off are their aggregate's earliest (the rows after them were never tried, unless two
//   transactions of one aggregate committed out of seq order, whose order is loose anyway), rows
//   behind the cursor come before those after it, and an aggregate's rows share a partition
//   unless the partition count changed (then the older rows come first; change it more than once
//   only with the outbox drained). Checking every earlier row made a claim of one aggregate's
//   backlog quadratic (500 rows of a 20,000-row aggregate: 130 ms, now 25 ms).
// - First, the aggregates with a failed or backing-off row, read once per claim through their
//   own index and looked up by hash, rule out their rows without a probe each: with 20,000 rows
//   behind one failed row, each sweep took 0.3–0.6 s (now 12 ms). At most WAITING_HASHED of them:
//   a larger set could make PostgreSQL give up hashing (then it rescans the set for every row,
//   seconds per claim) and would cost its read on every claim; the probe still catches the rest.
// The snapshot's xmin and the next xid come back even when no row does (one row of nulls), for the
// relay's claim floor. The next xid is read through age(), which measures from it without
// assigning one to a transaction that marks nothing.
//
// The same statement marks rows published ($4, $5: ids and stream seqs; $6 is PENDING), saving the relay a round
// trip per batch. The claim's snapshot does not see that update, so rows after a row it marks are
// still held back in this claim; when the claim is not full it counts those marked rows that have
// a later unpublished row (other than one it marks too), for the relay to claim again.
/** How many waiting aggregates a claim rules out by hash; see the CLAIM. */
const WAITING_HASHED = 1000;

const CLAIM = `
with marked as (${markPublishedSql('$4', '$5', '$6')}
  returning o.aggregate_type, o.aggregate_id, o.seq
),
snap as (select pg_current_snapshot() as s),
claimed as (
  select o.id, o.seq, o.aggregate_type, o.aggregate_id, o.type, o.source, o.dataschema, o.nats_subject,
         o.headers, o.data::text as data, o.attempts, o.created_at
  from jetbox_outbox o
  where o.status = 'pending' and o.partition = any($1::int[]) and o.next_attempt_at <= now() and o.seq > $3
    and (o.aggregate_type, o.aggregate_id) not in (
      select w.aggregate_type, w.aggregate_id from jetbox_outbox w
      where (w.status = 'failed' or (w.status = 'pending' and w.attempts > 0))
        and (w.status = 'failed' or w.next_attempt_at > now())
      limit ${WAITING_HASHED}
    )
    and not exists (
      select 1 from (
        select e.seq, e.partition, e.status, e.next_attempt_at from jetbox_outbox e
        where e.aggregate_type = o.aggregate_type and e.aggregate_id = o.aggregate_id
          and e.seq < o.seq and e.status <> 'published'
        order by e.seq
        limit 1
      ) earliest
      where earliest.seq <= $3 or not (earliest.partition = any($1::int[]))
        or earliest.status = 'failed' or earliest.next_attempt_at > now()
    )
  order by o.seq
  limit $2
)
select c.*, pg_snapshot_xmin(snap.s)::text as snapshot_xmin,
       (pg_snapshot_xmax(snap.s)::text::bigint + age(xid(pg_snapshot_xmax(snap.s))))::text as next_xid,
       case when (select count(*) from claimed) < $2 then (
         select count(*) from marked m
         where exists (
           select 1 from jetbox_outbox later
           where later.aggregate_type = m.aggregate_type and later.aggregate_id = m.aggregate_id
             and later.seq > m.seq and later.status <> 'published'
             and not (later.id = any($4::uuid[]))
         )
       ) else 0 end::int as marked_with_later
from snap left join claimed c on true
order by c.seq`;

/** One claim: its rows, and the snapshot it saw them in (xid8 as text). */
export interface Claim {
  rows: ClaimedRow[];
  snapshotXmin: string;
  /** The next xid to be assigned, read after the snapshot. */
  nextXid: string;
  /**
   * Rows this claim marked published that have a later unpublished row of their aggregate, which
   * the claim could not return yet; counted only when the claim was not full.
   */
  markedWithLater: number;
}

/** Rows to mark published, with the stream sequences their PubAcks gave. */
export interface Marks {
  ids: string[];
  streamSeqs: number[];
}

const NO_MARKS: Marks = { ids: [], streamSeqs: [] };

/**
 * Pending rows of `partitions` after `afterSeq` (the relay's cursor past rows still in flight),
 * marking `marks` published in the same statement.
 */
export async function claimBatch(
  db: Queryable,
  partitions: number[],
  limit: number,
  afterSeq = '0',
  marks: Marks = NO_MARKS,
): Promise<Claim> {
  const { rows } = await db.query<
    ClaimedRow & { snapshot_xmin: string; next_xid: string; marked_with_later: number }
  >({
    name: 'jetbox_claim',
    text: CLAIM,
    values: [partitions, limit, afterSeq, marks.ids, marks.streamSeqs, PENDING],
  });
  const first = rows[0];
  const claim: Claim = {
    rows: first?.id === null ? [] : rows,
    snapshotXmin: first?.snapshot_xmin ?? '0',
    nextXid: first?.next_xid ?? '0',
    markedWithLater: first?.marked_with_later ?? 0,
  };
  // NUL never occurs in PostgreSQL text, so the key cannot be ambiguous.
  for (const row of claim.rows) row.key = `${row.aggregate_type}\u0000${row.aggregate_id}`;
  return claim;
}

const MARK_PUBLISHED = markPublishedSql('$1', '$2', '$3');

export async function markPublished(
  client: Queryable,
  ids: string[],
  streamSeqs: number[],
): Promise<void> {
  if (ids.length === 0) return;
  await client.query({
    name: 'jetbox_mark_published',
    text: MARK_PUBLISHED,
    values: [ids, streamSeqs, PENDING],
  });
}

const MARK_FAILED = `
update jetbox_outbox o
set attempts = o.attempts + 1,
    last_error = v.error,
    next_attempt_at = now() + make_interval(secs => v.delay_ms / 1000.0),
    status = case when o.attempts + 1 >= $4 then 'failed' else 'pending' end
from unnest($1::uuid[], $2::text[], $3::int[]) as v(id, error, delay_ms)
where o.id = any($1::uuid[]) and o.id = v.id and o.status = $5
returning o.id, o.status, o.attempts`;

export async function markFailed(
  client: Queryable,
  failures: { id: string; error: string; delayMs: number }[],
  maxAttempts: number,
): Promise<{ id: string; status: string; attempts: number }[]> {
  if (failures.length === 0) return [];
  const { rows } = await client.query<{ id: string; status: string; attempts: number }>({
    name: 'jetbox_mark_failed',
    text: MARK_FAILED,
    values: [
      failures.map((f) => f.id),
      failures.map((f) => f.error.slice(0, 2000)),
      failures.map((f) => f.delayMs),
      maxAttempts,
      PENDING,
    ],
  });
  return rows;
}

/** Deletes up to `limit` published rows older than `olderThanMs`; returns how many. */
export async function deletePublished(
  client: Queryable,
  olderThanMs: number,
  limit: number,
): Promise<number> {
  const { rowCount } = await client.query(
    `delete from jetbox_outbox where id in (
       select id from jetbox_outbox where status = 'published' and published_at < now() - make_interval(secs => $1 / 1000.0)
       limit $2)`,
    [olderThanMs, limit],
  );
  return rowCount ?? 0;
}

/** Backlog size and age of the oldest pending row, for metrics and `jetbox outbox status`. */
export async function backlogStats(
  client: Queryable,
): Promise<{ pending: number; failed: number; oldestPendingAgeSeconds: number }> {
  const { rows } = await client.query<{ pending: string; failed: string; age: number | null }>(
    `select (select count(*) from jetbox_outbox where status = 'pending') as pending,
            (select count(*) from jetbox_outbox where status = 'failed') as failed,
            (select extract(epoch from now() - min(created_at))::float8 from jetbox_outbox where status = 'pending') as age`,
  );
  const r = rows[0];
  return {
    pending: Number(r?.pending ?? 0),
    failed: Number(r?.failed ?? 0),
    oldestPendingAgeSeconds: r?.age ?? 0,
  };
}
