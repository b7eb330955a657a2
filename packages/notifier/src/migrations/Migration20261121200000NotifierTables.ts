import { Migration } from '@mikro-orm/migrations';

/** notifier's table: one notification per user per event. */
export class Migration20261121200000NotifierTables extends Migration {
  override up(): void {
    this.addSql(`create table if not exists notifications (
      id uuid primary key,
      event_id uuid not null,
      user_id uuid not null,
      type text not null,
      match_id uuid not null,
      created_at timestamptz not null,
      -- The inbox already makes each event's effects happen once; this makes it a fact of the table.
      constraint notifications_event_user unique (event_id, user_id)
    )`);
    // A user's notifications, oldest first, paged by (created_at, id).
    this.addSql(
      `create index if not exists notifications_user on notifications (user_id, created_at, id)`,
    );
  }

  override down(): void {
    this.addSql('drop table if exists notifications');
  }
}
