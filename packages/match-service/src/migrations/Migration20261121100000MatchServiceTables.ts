import { Migration } from '@mikro-orm/migrations';

/** match-service's tables: users, the waiting list and matches. */
export class Migration20261121100000MatchServiceTables extends Migration {
  override up(): void {
    this.addSql(`create table if not exists users (
      id uuid primary key,
      name text not null,
      region text not null,
      interests text[] not null,
      created_at timestamptz not null
    )`);
    this.addSql(`create table if not exists match_requests (
      user_id uuid primary key references users (id),
      region text not null,
      interests text[] not null,
      created_at timestamptz not null
    )`);
    // The matcher walks one region's waiting list oldest first.
    this.addSql(
      `create index if not exists match_requests_region on match_requests (region, created_at, user_id)`,
    );
    this.addSql(`create table if not exists matches (
      id uuid primary key,
      user_ids uuid[] not null check (cardinality(user_ids) = 2),
      region text not null,
      status text not null check (status in ('active', 'cancelled')),
      created_at timestamptz not null,
      cancelled_at timestamptz,
      reason_code text,
      reason_note text
    )`);
    // "Matches of a user" and "does this user have an active match" are array-containment queries.
    this.addSql(`create index if not exists matches_user_ids on matches using gin (user_ids)`);
  }

  override down(): void {
    this.addSql('drop table if exists matches');
    this.addSql('drop table if exists match_requests');
    this.addSql('drop table if exists users');
  }
}
