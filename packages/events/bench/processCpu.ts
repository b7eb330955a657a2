/**
 * Per-process CPU accounting for the benchmarks. The machine is shared and noisy, so besides
 * wall-clock rates the benches report CPU microseconds per event of every process that does the
 * work (node, nats-server, the database's PostgreSQL backends): those do not move with load.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type pg from 'pg';

const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used so far, in ms; 0 once it is gone. */
export function cpuMsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Peak resident set (VmHWM) of a process, in bytes. */
export function peakRssOf(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The pid of the process listening on a TCP port, when `ss` can tell. */
export function listenerPid(port: number): number | null {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Backend pids connected to the current database, optionally only those of one application. */
export async function backendPids(
  db: Pick<pg.Pool, 'query'>,
  applicationName?: string,
): Promise<number[]> {
  const { rows } = await db.query<{ pid: number }>(
    `select pid from pg_stat_activity
     where datname = current_database() and pid <> pg_backend_pid() and ($1::text is null or application_name = $1)`,
    [applicationName ?? null],
  );
  return rows.map((r) => r.pid);
}

/** CPU used by a set of processes between `start()` and `stop()`, in ms per process group. */
export class CpuMeter {
  #start = new Map<number, number>();

  /** Remembers every pid's CPU now; pids first seen at `stop()` count from their birth. */
  start(pids: Iterable<number>): void {
    this.#start.clear();
    for (const pid of pids) this.#start.set(pid, cpuMsOf(pid));
  }

  stop(pids: Iterable<number>): number {
    let ms = 0;
    for (const pid of new Set([...pids, ...this.#start.keys()])) {
      const now = cpuMsOf(pid);
      if (now > 0) ms += now - (this.#start.get(pid) ?? 0);
    }
    return ms;
  }
}
