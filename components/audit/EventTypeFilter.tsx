import Link from 'next/link';

/** A plain GET form: the filter lives in the query string, so filtered views can be shared. */
export function EventTypeFilter({ types, selected }: { types: readonly string[]; selected?: string }) {
  return (
    <form method="get" action="/audit" className="flex flex-wrap items-end gap-2">
      <label className="flex flex-col gap-1 text-sm font-medium text-slate-700">
        Event type
        <select
          name="type"
          defaultValue={selected ?? ''}
          className="rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-normal shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30"
        >
          <option value="">All types</option>
          {types.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </select>
      </label>
      <button
        type="submit"
        className="rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2"
      >
        Filter
      </button>
      {selected ? (
        <Link href="/audit" className="px-2 py-2 text-sm font-medium text-slate-600 underline-offset-2 hover:underline">
          Clear
        </Link>
      ) : null}
    </form>
  );
}
