/**
 * A column header that selects its column when clicked (as in Excel), with sorting on its own small button so a
 * click meant to select never reorders the rows.
 *
 * The header of a column this person may change carries a pencil and, for a screen reader, "editable": the cells'
 * tints alone said which columns take input, which neither someone who does not see colours apart nor a screen
 * reader (which names a cell's column header as the focus moves across) could tell.
 */
import { useEffect, useState } from 'react';
import type { IHeaderParams } from 'ag-grid-community';

export interface HeaderCellParams {
  /** The header's label was clicked: select the column (shift: extend the range to it). */
  onSelectColumn: (columnId: string, extend: boolean) => void;
}

export function HeaderCell(params: IHeaderParams & HeaderCellParams) {
  const { column, displayName, enableSorting, progressSort, onSelectColumn } = params;
  const [sort, setSort] = useState(column.getSort());
  const editable = column.getColDef().editable === true;
  useEffect(() => {
    const onSort = () => setSort(column.getSort());
    column.addEventListener('sortChanged', onSort);
    return () => column.removeEventListener('sortChanged', onSort);
  }, [column]);
  return (
    <div className="range-header">
      <span
        className="range-header-label"
        title={`Select the whole column (${displayName}${editable ? ', which you can change' : ''})`}
        onMouseDown={(e) => {
          if (e.button !== 0) return;
          e.preventDefault();
          onSelectColumn(column.getColId(), e.shiftKey);
        }}
      >
        {editable && (
          <span className="range-header-editable" aria-hidden="true">
            ✎
          </span>
        )}
        {displayName}
        {editable && <span className="visually-hidden">, editable</span>}
      </span>
      {enableSorting && (
        <button
          type="button"
          className={`range-sort ${sort ? 'active' : ''}`}
          aria-label={`Sort by ${displayName}`}
          title={`Sort by ${displayName}`}
          onMouseDown={(e) => e.stopPropagation()}
          onClick={(e) => {
            e.stopPropagation();
            progressSort(e.shiftKey);
          }}
        >
          {sort === 'asc' ? '▲' : sort === 'desc' ? '▼' : '⇅'}
        </button>
      )}
    </div>
  );
}
