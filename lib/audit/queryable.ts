import type pg from 'pg';

/** A pool or a checked-out client: whatever can run a query, so callers may pass a transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'>;
