import { Migration } from '@mikro-orm/migrations';

/**
 * The audit log's sources gain IMPORT: cells written by a spreadsheet import (POST /import/budget-lines,
 * server/src/spreadsheets/). PostgreSQL cannot drop a value from an enum type, so `down` leaves it in place; no
 * earlier code writes it, and a row that has it keeps its meaning.
 */
export class Migration20261203170300_ImportSource extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter type "change_source" add value if not exists 'IMPORT';`);
  }

  override async down(): Promise<void> {
    // Nothing: see above.
  }
}
