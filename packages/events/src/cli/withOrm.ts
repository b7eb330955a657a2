import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { jetboxOrmOptions } from '../orm/jetboxOrmOptions.js';

/** Runs `fn` with an ORM holding only jetbox's own entities and migrations, then closes it. */
export async function withOrm<T>(
  databaseUrl: string,
  fn: (orm: MikroORM) => Promise<T>,
): Promise<T> {
  const orm = await MikroORM.init(
    defineConfig({ ...jetboxOrmOptions(), clientUrl: databaseUrl, debug: false }),
  );
  try {
    return await fn(orm);
  } finally {
    await orm.close(true);
  }
}
