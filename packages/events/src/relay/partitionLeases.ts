import type pg from 'pg';

// Advisory-lock key spaces (first int4 of the two-key form): one for relay membership, one for
// partition ownership. Session-level locks vanish with the connection, so a dead relay's
// partitions are free again at once.
const MEMBER_KEY = 0x6a6278; // "jbx"
const PARTITION_KEY = 0x6a6279;
const MAX_MEMBERS = 256;

/**
 * Which partitions this relay publishes. Relays share partitions evenly: each holds at most
 * ceil(partitions / live relays), counted from pg_locks; no partition is ever held by two.
 */
export class PartitionLeases {
  #owned = new Set<number>();
  #member = -1;

  constructor(readonly partitions: number) {}

  get owned(): number[] {
    return [...this.#owned].sort((a, b) => a - b);
  }

  /** Forget everything (the connection holding the locks is gone). */
  reset(): void {
    this.#owned.clear();
    this.#member = -1;
  }

  /**
   * Joins, then takes or gives back partitions to reach a fair share; `beforeRelease` runs before
   * the first partition is given back (the caller finishes its work on them). Returns true when
   * the set changed.
   */
  async rebalance(client: pg.Client, beforeRelease?: () => Promise<void>): Promise<boolean> {
    if (this.#member < 0) {
      for (let slot = 0; slot < MAX_MEMBERS; slot++) {
        const { rows } = await client.query<{ ok: boolean }>(
          'select pg_try_advisory_lock($1, $2) as ok',
          [MEMBER_KEY, slot],
        );
        if (rows[0]?.ok) {
          this.#member = slot;
          break;
        }
      }
      if (this.#member < 0) throw new Error(`more than ${MAX_MEMBERS} relays share this outbox`);
    }
    const { rows } = await client.query<{ n: number }>(
      `select count(*)::int as n from pg_locks
       where locktype = 'advisory' and granted and classid = $1 and objsubid = 2 and database = (select oid from pg_database where datname = current_database())`,
      [MEMBER_KEY],
    );
    const members = Math.max(1, rows[0]?.n ?? 1);
    const share = Math.ceil(this.partitions / members);
    let changed = false;
    // Give back the highest partitions first so shares converge.
    if (this.#owned.size > share) await beforeRelease?.();
    for (const p of this.owned.reverse()) {
      if (this.#owned.size <= share) break;
      await client.query('select pg_advisory_unlock($1, $2)', [PARTITION_KEY, p]);
      this.#owned.delete(p);
      changed = true;
    }
    // Start from a per-member offset so relays do not all race for partition 0.
    const start = (this.#member * share) % this.partitions;
    for (let i = 0; i < this.partitions && this.#owned.size < share; i++) {
      const p = (start + i) % this.partitions;
      if (this.#owned.has(p)) continue;
      const { rows: got } = await client.query<{ ok: boolean }>(
        'select pg_try_advisory_lock($1, $2) as ok',
        [PARTITION_KEY, p],
      );
      if (got[0]?.ok) {
        this.#owned.add(p);
        changed = true;
      }
    }
    return changed;
  }
}
