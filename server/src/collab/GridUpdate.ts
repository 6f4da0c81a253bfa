import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One batch of accepted Yjs updates of a grid document, appended in order: together with the document's
 * snapshot, the source of truth for the grid. Rows up to a snapshot's `lastUpdateId` are folded into it and
 * deleted by compaction.
 */
@Entity({ tableName: 'grid_update' })
@Index({ properties: ['docName', 'id'] })
export class GridUpdate {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'text' })
  docName!: string;

  @Property({ type: 'blob' })
  update!: Buffer;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}
