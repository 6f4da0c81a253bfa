import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/** A grid document's compacted state: every update up to `lastUpdateId`, merged into one. */
@Entity({ tableName: 'grid_snapshot' })
export class GridSnapshot {
  [OptionalProps]?: 'updatedAt';

  @PrimaryKey({ type: 'text' })
  docName!: string;

  @Property({ type: 'blob' })
  state!: Buffer;

  @Property({ type: 'bigint' })
  lastUpdateId!: string;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  updatedAt: Date = new Date();
}
