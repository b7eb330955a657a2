import connectionString from 'pg-connection-string';
import type pg from 'pg';

/**
 * Settings of the relay's own sessions.
 * - No sequential scans: the outbox is a queue whose statistics are rarely right (empty when the
 *   relay starts, 100,000 rows a minute later, mostly dead tuples between vacuums), and a prepared
 *   statement keeps the generic plan it got first. Planned against an empty table, the claim and
 *   the mark scan the whole table, and each wake-up then costs more with every row ever published
 *   (measured: 0.3 ms after 1,000 rows, 2.5 ms after 20,000). Every relay query has an index path.
 * - Generic plans only: the claim is planned once per session (again when the statistics
 *   change), not at every claim. Left to choose, PostgreSQL kept planning it for each claim's
 *   parameters where marks ride on claims and the outbox is small (10,000 published rows): 0.7 ms
 *   of planning for 0.2 ms of execution, 707 µs of the backend's CPU per claim against 250 with
 *   the generic plan. `bench:claim` measures the generic plan against the large shapes.
 * - No JIT: not knowing the claim's `LIMIT`, a generic plan is costed as if it returned a tenth of
 *   the pending rows, so with a large backlog its cost passes `jit_above_cost` and every claim
 *   compiled again: with 800,000 pending rows, 41–187 ms per claim of 1,000 rows, against
 *   11–18 ms without JIT (and the same for the retention delete of millions of published rows).
 * - Marks do not wait for their WAL flush: a mark lost in a PostgreSQL crash leaves the row pending,
 *   and its republish is dropped by the stream's duplicate window (and by the consumers' inbox).
 */
export const RELAY_SESSION_OPTIONS =
  '-c enable_seqscan=off -c synchronous_commit=off -c plan_cache_mode=force_generic_plan -c jit=off';

/**
 * Connection settings of a relay session: the database URL's, with the relay's session options
 * added before the URL's own `options` (or `PGOPTIONS`), so those still apply and, where they set
 * the same parameter, win; `application_name` is `jetbox-relay`. Given to `pg` as a connection string, a URL's `options` would replace
 * the relay's instead of adding to them.
 */
export function relaySessionConfig(databaseUrl: string): pg.ClientConfig {
  const config = connectionString.parseIntoClientConfig(databaseUrl);
  const own = config.options ?? process.env.PGOPTIONS;
  return {
    ...config,
    application_name: 'jetbox-relay',
    options: own ? `${RELAY_SESSION_OPTIONS} ${own}` : RELAY_SESSION_OPTIONS,
  };
}
