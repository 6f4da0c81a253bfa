/**
 * A column header that selects its column when clicked (as in Excel), with sorting on its own small button so a
 * click meant to select never reorders the rows.
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
  useEffect(() => {
    const onSort = () => setSort(column.getSort());
    column.addEventListener('sortChanged', onSort);
    return () => column.removeEventListener('sortChanged', onSort);
  }, [column]);
  return (
    <div className="range-header">
      <span
        className="range-header-label"
        title={`Select the whole column (${displayName})`}
        onMouseDown={(e) => {
          if (e.button !== 0) return;
          e.preventDefault();
          onSelectColumn(column.getColId(), e.shiftKey);
        }}
      >
        {displayName}
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
