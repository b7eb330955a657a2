import type { MikroORM } from '@mikro-orm/postgresql';
import type { NatsConnection } from '@nats-io/transport-node';

/** How long each dependency may take to answer a readiness probe. @defaultValue 2 s */
export const READINESS_TIMEOUT_MS = 2000;

export interface Readiness {
  ready: boolean;
  checks: { postgres: string; nats: string; migrations: string };
}

/** PostgreSQL answers, NATS answers a round trip, and no migration is pending. */
export async function checkReadiness(orm: MikroORM, nats: NatsConnection): Promise<Readiness> {
  const [postgres, migrations, natsCheck] = await Promise.all([
    check(() => orm.em.getConnection().execute('select 1')),
    check(async () => {
      const pending = await orm.getMigrator().getPendingMigrations();
      if (pending.length > 0) throw new Error(`${pending.length} pending`);
    }),
    check(async () => {
      if (nats.isClosed()) throw new Error('connection closed');
      await nats.flush();
    }),
  ]);
  return {
    ready: postgres === 'ok' && migrations === 'ok' && natsCheck === 'ok',
    checks: { postgres, nats: natsCheck, migrations },
  };
}

async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), READINESS_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  } finally {
    clearTimeout(timer);
  }
}
