/** What one claim saw: its rows' seqs and the transactions around it (xid8 values as text). */
export interface ClaimSighting {
  /** Where the claim started (`seq > start`). */
  start: string;
  /** Seq of the last row returned, or null when none was. */
  lastSeq: string | null;
  /** Whether the claim returned as many rows as it was allowed to (rows beyond were not looked at). */
  full: boolean;
  /** Every transaction with a lower xid had ended when the claim's snapshot was taken. */
  snapshotXmin: string;
  /**
   * The next xid to be assigned, read after the snapshot was taken: every transaction that could
   * have drawn a seq before the claim has a lower xid. (Not the snapshot's xmax, which is one past
   * the latest *ended* xid: a transaction whose xid is above it is running, yet the snapshot does
   * not list it.)
   */
  nextXid: string;
}

const MAX_SIGHTINGS = 1024;

/**
 * The seq below which a claim after a wake-up need not look. Without it every claim that
 * follows a commit scans the claim index from seq 0, through one dead entry per row published
 * since the last VACUUM: with 20,000 of them that is ≈ 0.4 ms of PostgreSQL CPU per wake-up,
 * more than the commit that caused it.
 *
 * Seqs are taken at insert, rows appear at commit, so a row with a lower seq can show up after a
 * higher one was claimed. A transaction draws its seq only once it has an xid (the column's
 * default), so the floor only passes a seq once every transaction that had an xid when that seq
 * was seen has ended (the next xid then ≤ a later snapshot's xmin), and only
 * through a claim that started at the floor with nothing in flight, so every row below it was
 * visible to that claim and either returned, published, or waiting for a retry. Rows in flight
 * and rows held back behind them keep restarts below them. Rows waiting for a retry, and
 * anything else below the floor, are found by the periodic sweep from seq 0.
 */
export class ClaimFloor {
  #floor = 0n;
  #sightings: { nextXid: bigint; seq: bigint }[] = [];

  /** The floor itself, as the claim query's cursor. */
  get value(): string {
    return String(this.#floor);
  }

  /** Back to 0 (new partitions, new connection): everything is looked at again. */
  reset(): void {
    this.#floor = 0n;
    this.#sightings = [];
  }

  /** Where to restart scanning: the floor, but never past a row still in flight. */
  restartFrom(lowestSeqInFlight: bigint | null): string {
    if (lowestSeqInFlight !== null && lowestSeqInFlight - 1n < this.#floor) {
      return String(lowestSeqInFlight - 1n);
    }
    return String(this.#floor);
  }

  /**
   * Records a claim. `fresh` says it started at or below the restart point, so it looked at every
   * visible row the floor may pass: only such a claim raises the floor. The floor stays below
   * `lowestHeld`, a row held back behind its aggregate's row in flight.
   */
  observe(claim: ClaimSighting, fresh: boolean, lowestHeld: bigint | null = null): void {
    const xmin = BigInt(claim.snapshotXmin);
    if (claim.lastSeq !== null) {
      const seq = BigInt(claim.lastSeq);
      const newest = this.#sightings.at(-1);
      if ((!newest || seq > newest.seq) && this.#sightings.length < MAX_SIGHTINGS) {
        this.#sightings.push({ nextXid: BigInt(claim.nextXid), seq });
      }
    }
    if (!fresh || BigInt(claim.start) > this.#floor) return;
    let reach = this.#floor;
    // Sightings are in seq order and, being taken one after another, in next-xid order too.
    for (const s of this.#sightings) {
      if (s.nextXid > xmin) break;
      if (s.seq > reach) reach = s.seq;
    }
    // A full claim did not look past its last row.
    if (claim.full && claim.lastSeq !== null && BigInt(claim.lastSeq) < reach) {
      reach = BigInt(claim.lastSeq);
    }
    if (lowestHeld !== null && lowestHeld - 1n < reach) reach = lowestHeld - 1n;
    const passed = this.#sightings.findIndex((s) => s.seq > reach);
    this.#sightings.splice(0, passed < 0 ? this.#sightings.length : passed);
    if (reach > this.#floor) this.#floor = reach;
  }
}
