import { jetboxMigrations, jetboxOrmOptions } from '@jetbox/events';
import type { MigrationObject } from '@mikro-orm/core';
import { defineConfig } from '@mikro-orm/postgresql';
import { NotificationSchema } from './domain/Notification.js';
import { Migration20261121200000NotifierTables } from './migrations/Migration20261121200000NotifierTables.js';

/** notifier's migrations after jetbox's own (the inbox), in the order they apply. */
export const migrationsList: MigrationObject[] = [
  ...jetboxMigrations,
  { name: 'Migration20261121200000NotifierTables', class: Migration20261121200000NotifierTables },
];

/** The MikroORM configuration of notifier: its entity and jetbox's. */
export function notifierOrmOptions(databaseUrl: string) {
  const base = jetboxOrmOptions();
  return defineConfig({
    ...base,
    clientUrl: databaseUrl,
    entities: [...base.entities, NotificationSchema],
    migrations: { ...base.migrations, migrationsList },
    allowGlobalContext: false,
    debug: false,
  });
}
