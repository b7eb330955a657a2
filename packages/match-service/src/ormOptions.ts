import { jetboxMigrations, jetboxOrmOptions, type Outbox } from '@jetbox/events';
import type { MigrationObject } from '@mikro-orm/core';
import { defineConfig } from '@mikro-orm/postgresql';
import { MatchSchema } from './domain/Match.js';
import { MatchRequestSchema } from './domain/MatchRequest.js';
import { UserSchema } from './domain/User.js';
import { Migration20261121100000MatchServiceTables } from './migrations/Migration20261121100000MatchServiceTables.js';

/** match-service's migrations after jetbox's own, in the order they apply. */
export const migrationsList: MigrationObject[] = [
  ...jetboxMigrations,
  {
    name: 'Migration20261121100000MatchServiceTables',
    class: Migration20261121100000MatchServiceTables,
  },
];

/** The MikroORM configuration of match-service: its entities, jetbox's, and the outbox subscriber. */
export function matchOrmOptions(databaseUrl: string, outbox: Outbox) {
  const base = jetboxOrmOptions();
  return defineConfig({
    ...base,
    clientUrl: databaseUrl,
    entities: [...base.entities, UserSchema, MatchRequestSchema, MatchSchema],
    subscribers: [outbox.subscriber],
    migrations: { ...base.migrations, migrationsList },
    allowGlobalContext: false,
    // Our own logger reports failures; MikroORM's debug output is not wanted in production.
    debug: false,
  });
}
