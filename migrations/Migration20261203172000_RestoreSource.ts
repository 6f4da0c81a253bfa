import { Migration } from '@mikro-orm/migrations';

/**
 * The audit log's sources gain RESTORE: a cell set back to an earlier change's old value (restoreCell,
 * server/src/budget/CellHistoryResolver.ts). PostgreSQL cannot drop a value from an enum type, so `down` leaves it
 * in place; no earlier code writes it, and a row that has it keeps its meaning.
 */
export class Migration20261203172000_RestoreSource extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter type "change_source" add value if not exists 'RESTORE';`);
  }

  override async down(): Promise<void> {
    // Nothing: see above.
  }
}
