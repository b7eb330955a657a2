import { Migration } from '@mikro-orm/migrations';

/**
 * An outbox row's seq is drawn only once its transaction has an xid.
 *
 * The relay's claim floor passes a seq once every transaction that was running when the seq was
 * seen has ended, judged by snapshots (ClaimFloor). A transaction whose first write is the outbox
 * insert drew its seq from the identity before it had an xid, so a snapshot taken in between did
 * not list it as running: the floor could pass its row while it was still uncommitted, and the row
 * then waited for the next sweep (up to the poll interval, about 1 in 10,000 events at 1,000/s).
 * `pg_current_xact_id()` assigns the xid first; `case` fixes the order of evaluation.
 */
export class Migration20261121120000OutboxSeqAfterXid extends Migration {
  override up(): void {
    this.addSql(`alter table jetbox_outbox alter column seq drop identity if exists`);
    this.addSql(
      `create sequence if not exists jetbox_outbox_seq as bigint owned by jetbox_outbox.seq`,
    );
    this.addSql(
      `select setval('jetbox_outbox_seq', coalesce((select max(seq) from jetbox_outbox), 0) + 1, false)`,
    );
    this.addSql(`alter table jetbox_outbox alter column seq set default
      (case when pg_current_xact_id() is not null then nextval('jetbox_outbox_seq') end)`);
  }

  override down(): void {
    this.addSql(`alter table jetbox_outbox alter column seq drop default`);
    this.addSql(`drop sequence if exists jetbox_outbox_seq`);
    this.addSql(`alter table jetbox_outbox alter column seq add generated always as identity`);
    this.addSql(
      `select setval(pg_get_serial_sequence('jetbox_outbox', 'seq'), coalesce((select max(seq) from jetbox_outbox), 0) + 1, false)`,
    );
  }
}
