import { Migration } from '@mikro-orm/migrations';

/** Creates jetbox's own tables: the outbox the relay drains and the inbox consumers dedupe on. */
export class Migration20261121000000JetboxTables extends Migration {
  override up(): void {
    this.addSql(`create table if not exists jetbox_outbox (
      id uuid primary key,
      seq bigint generated always as identity,
      aggregate_type text not null,
      aggregate_id text not null,
      partition int not null,
      type text not null,
      source text not null,
      dataschema text not null,
      nats_subject text not null,
      headers jsonb not null default '{}'::jsonb,
      data jsonb not null,
      status text not null default 'pending' check (status in ('pending', 'published', 'failed')),
      attempts int not null default 0,
      next_attempt_at timestamptz not null default now(),
      last_error text,
      created_at timestamptz not null default now(),
      published_at timestamptz,
      stream_seq bigint
    )`);
    // The claim query walks pending rows in seq order, filtered to the relay's partitions.
    this.addSql(
      `create index if not exists jetbox_outbox_claim on jetbox_outbox (seq) where status = 'pending'`,
    );
    // Per-aggregate order: "is there an earlier unpublished row of this aggregate?"
    this
      .addSql(`create index if not exists jetbox_outbox_aggregate on jetbox_outbox (aggregate_type, aggregate_id, seq)
      where status <> 'published'`);
    this.addSql(
      `create index if not exists jetbox_outbox_retention on jetbox_outbox (published_at) where status = 'published'`,
    );
    // NOTIFY from a statement trigger: PostgreSQL delivers it only on commit, once per transaction.
    this
      .addSql(`create or replace function jetbox_outbox_notify() returns trigger language plpgsql as $$
      begin perform pg_notify('jetbox_outbox', ''); return null; end $$`);
    this.addSql(`drop trigger if exists jetbox_outbox_notify on jetbox_outbox`);
    this.addSql(`create trigger jetbox_outbox_notify after insert on jetbox_outbox
      for each statement execute function jetbox_outbox_notify()`);
    this.addSql(`create table if not exists jetbox_inbox (
      consumer text not null,
      event_id uuid not null,
      processed_at timestamptz not null default now(),
      primary key (consumer, event_id)
    )`);
    this.addSql(`create index if not exists jetbox_inbox_retention on jetbox_inbox (processed_at)`);
  }

  override down(): void {
    this.addSql('drop table if exists jetbox_inbox');
    this.addSql('drop table if exists jetbox_outbox');
    this.addSql('drop function if exists jetbox_outbox_notify()');
  }
}
