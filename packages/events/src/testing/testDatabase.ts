import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DEFAULT_DATABASE_URL } from '../config.js';

/** A database that exists for one test file. */
export interface TestDatabase extends AsyncDisposable {
  readonly name: string;
  /** Connection URL of the test database. */
  readonly url: string;
  /** Drops the database, closing any connection still open to it. Safe to call twice. */
  drop(): Promise<void>;
}

/** A lower-case name unique to this process and call, safe as a database or stream name. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/**
 * Creates an empty database next to the one `DATABASE_URL` names (default: the local
 * PostgreSQL), so each test file has its own and never sees another run's rows.
 */
export async function createTestDatabase(prefix = 'jetbox_test'): Promise<TestDatabase> {
  const base = new URL(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL);
  const name = uniqueName(prefix).toLowerCase();
  const admin = new URL(base);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    try {
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await c.end();
    }
  };
  return { name, url: url.toString(), drop, [Symbol.asyncDispose]: drop };
}
