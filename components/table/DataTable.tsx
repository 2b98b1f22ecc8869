'use client';

import {
  flexRender,
  getCoreRowModel,
  getFilteredRowModel,
  getSortedRowModel,
  useReactTable,
  type ColumnDef,
  type SortingState,
} from '@tanstack/react-table';
import { useState } from 'react';

export interface DataTableProps<Row> {
  /** Names the table for assistive technology. */
  caption: string;
  data: Row[];
  columns: ColumnDef<Row>[];
  /** Shown when there are no rows at all. */
  emptyMessage: string;
  /** Adds a text box that filters rows on any column. */
  searchLabel?: string;
  initialSorting?: SortingState;
  getRowId?: (row: Row) => string;
}

const SORT_ICONS = { asc: '▲', desc: '▼' } as const;

export function DataTable<Row>({ caption, data, columns, emptyMessage, searchLabel, initialSorting = [], getRowId }: DataTableProps<Row>) {
  const [sorting, setSorting] = useState<SortingState>(initialSorting);
  const [search, setSearch] = useState('');
  const table = useReactTable({
    data,
    columns,
    state: { sorting, globalFilter: search },
    onSortingChange: setSorting,
    onGlobalFilterChange: setSearch,
    getRowId,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getFilteredRowModel: getFilteredRowModel(),
  });
  const rows = table.getRowModel().rows;

  return (
    <div className="space-y-3">
      {searchLabel ? (
        <div className="flex items-center justify-between gap-3">
          <label className="flex w-full max-w-sm flex-col gap-1 text-sm font-medium text-slate-700">
            {searchLabel}
            <input
              type="search"
              value={search}
              onChange={(event) => setSearch(event.target.value)}
              className="rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-normal shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30"
            />
          </label>
          <p className="whitespace-nowrap text-sm text-slate-500" aria-live="polite">
            {rows.length} of {data.length}
          </p>
        </div>
      ) : null}
      {/* relative: screen-reader-only text inside is absolutely positioned and would otherwise widen the page past the scroller. */}
      <div className="relative overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
        <table className="min-w-full divide-y divide-slate-200 text-sm">
          <caption className="sr-only">{caption}</caption>
          <thead className="bg-slate-50">
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((header) => {
                  const sorted = header.column.getIsSorted();
                  const label = header.isPlaceholder ? null : flexRender(header.column.columnDef.header, header.getContext());
                  return (
                    <th
                      key={header.id}
                      scope="col"
                      aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined}
                      className="whitespace-nowrap px-4 py-3 text-left text-xs font-semibold uppercase tracking-wide text-slate-600"
                    >
                      {header.column.getCanSort() ? (
                        <button
                          type="button"
                          onClick={header.column.getToggleSortingHandler()}
                          className="inline-flex items-center gap-1 rounded uppercase hover:text-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                        >
                          {label}
                          <span aria-hidden="true" className="text-[10px] text-slate-400">
                            {sorted ? SORT_ICONS[sorted] : '↕'}
                          </span>
                        </button>
                      ) : (
                        label
                      )}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody className="divide-y divide-slate-100">
            {rows.length === 0 ? (
              <tr>
                <td colSpan={columns.length} className="px-4 py-10 text-slate-500">
                  {/* Sticky and no wider than the screen: on a phone the table scrolls sideways, the message must not. */}
                  <p className="sticky left-4 max-w-[calc(100vw-5rem)] text-center sm:max-w-none">{data.length === 0 ? emptyMessage : 'No rows match the search.'}</p>
                </td>
              </tr>
            ) : (
              rows.map((row) => (
                <tr key={row.id} className="hover:bg-slate-50">
                  {row.getVisibleCells().map((cell) => (
                    <td key={cell.id} className="whitespace-nowrap px-4 py-3 align-top text-slate-700">
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </td>
                  ))}
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
