import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { spawnService, type ServiceProcess } from '@jetbox/events/testing';
import { expect } from 'chai';
import pg from 'pg';

export interface NotificationJson {
  id: string;
  eventId: string;
  type: string;
  matchId: string;
  createdAt: string;
}

/** Drives match-service and notifier over HTTP, and reads notifier's table, for process tests. */
export function driveServices(urls: {
  matchService: string;
  notifier: string;
  notifierDb: string;
}) {
  let region = 0;
  const call = async <T>(method: string, url: string, body?: unknown) => {
    const res = await fetch(url, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  const ms = (path: string) => `${urls.matchService}${path}`;
  return {
    call,
    ms,
    async notificationsOf(userId: string) {
      const url = `${urls.notifier}/users/${userId}/notifications?limit=1000`;
      return (await call<NotificationJson[]>('GET', url)).body;
    },
    /** Registers two compatible users in a region of their own and matches them. */
    async matchPair(): Promise<{ matchId: string; users: [string, string] }> {
      const r = `region-${process.pid}-${++region}`;
      const users: string[] = [];
      for (const name of ['A', 'B']) {
        const u = await call<{ id: string }>('POST', ms('/users'), {
          name,
          region: r,
          interests: ['chess'],
        });
        expect(u.status, JSON.stringify(u.body)).to.equal(201);
        users.push(u.body.id);
      }
      expect((await call('POST', ms(`/users/${users[0]}/match-requests`))).status).to.equal(202);
      const m = await call<{ status: string; matchId: string }>(
        'POST',
        ms(`/users/${users[1]}/match-requests`),
      );
      expect(m.body.status).to.equal('matched');
      return { matchId: m.body.matchId, users: [users[0]!, users[1]!] };
    },
    /** Notifications per (event, user): more than one would be a double. */
    async notificationRows() {
      const client = new pg.Client({ connectionString: urls.notifierDb });
      await client.connect();
      try {
        const { rows } = await client.query<{ event_id: string; user_id: string; n: number }>(
          'select event_id, user_id, count(*)::int as n from notifications group by 1, 2',
        );
        return rows;
      } finally {
        await client.end();
      }
    },
  };
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const SERVICE_DIRS = {
  'match-service': fileURLToPath(new URL('../../../match-service', import.meta.url)),
  notifier: fileURLToPath(new URL('../..', import.meta.url)),
} as const;

/** Starts match-service or notifier from its `src/main.ts`, as `npm run dev` does. */
function startService(
  name: keyof typeof SERVICE_DIRS,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  return spawnService({ name, cwd: SERVICE_DIRS[name], env });
}

/** Where a test runs the two services: each its own database and port. */
export interface ServicePlaces {
  matchDb: string;
  notifierDb: string;
  matchPort: number;
  notifierPort: number;
}

/** Starts match-service on its database and port, with `env` besides. */
export function startMatchService(
  places: ServicePlaces,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  return startService('match-service', {
    ...env,
    DATABASE_URL: places.matchDb,
    PORT: String(places.matchPort),
  });
}

/** Starts notifier on its database and port, pointed at match-service, with `env` besides. */
export function startNotifier(
  places: ServicePlaces,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  return startService('notifier', {
    ...env,
    DATABASE_URL: places.notifierDb,
    PORT: String(places.notifierPort),
    MATCH_SERVICE_URL: `http://127.0.0.1:${places.matchPort}`,
  });
}

/**
 * Runs every clean-up step even when one fails (or its resource was never made because set-up
 * failed half-way), then reports the first failure: a test file never leaves processes,
 * databases or streams behind because of an earlier step.
 */
export async function cleanUp(...steps: (() => Promise<unknown> | undefined)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw errors[0] as Error;
}
