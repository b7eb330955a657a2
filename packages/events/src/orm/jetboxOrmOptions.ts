import { Migrator } from '@mikro-orm/migrations';
import type { MikroORM } from '@mikro-orm/postgresql';
import { InboxMessageSchema } from '../inbox/InboxMessage.js';
import { Migration20261121000000JetboxTables } from '../migrations/Migration20261121000000JetboxTables.js';
import { Migration20261121120000OutboxSeqAfterXid } from '../migrations/Migration20261121120000OutboxSeqAfterXid.js';
import { Migration20261121140000OutboxWaitingIndex } from '../migrations/Migration20261121140000OutboxWaitingIndex.js';
import { OutboxMessageSchema } from '../outbox/OutboxMessage.js';

/** jetbox's entities, to add to an application's `entities`. */
export const jetboxEntities = [OutboxMessageSchema, InboxMessageSchema];

/** jetbox's migrations, to add to an application's `migrations.migrationsList`. */
export const jetboxMigrations = [
  { name: 'Migration20261121000000JetboxTables', class: Migration20261121000000JetboxTables },
  {
    name: 'Migration20261121120000OutboxSeqAfterXid',
    class: Migration20261121120000OutboxSeqAfterXid,
  },
  {
    name: 'Migration20261121140000OutboxWaitingIndex',
    class: Migration20261121140000OutboxWaitingIndex,
  },
];

/** The ORM options jetbox needs: its entities, the migrator and its migrations. Spread into `defineConfig`. */
export function jetboxOrmOptions() {
  return {
    entities: [...jetboxEntities],
    extensions: [Migrator],
    migrations: {
      migrationsList: [...jetboxMigrations],
      transactional: true,
      allOrNothing: true,
      silent: true,
      snapshot: false,
    },
  };
}

/** Applies pending migrations (jetbox's and the application's) and returns their names. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const done = await orm.getMigrator().up();
  return done.map((m) => m.name);
}
