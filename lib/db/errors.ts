/**
 * Database failures an operator meets (server down, login refused, database or tables missing)
 * as one sentence that says what to do, for the CLI and the start-up scripts. Prisma's own
 * messages span a dozen lines of source excerpt; node-postgres' lack the remedy.
 */

/** What Prisma's driver adapter reports under `meta.driverAdapterError.cause`. */
interface AdapterCause {
  kind?: string;
  originalCode?: string;
  originalMessage?: string;
  host?: string;
  port?: number;
  db?: string;
  table?: string;
}

interface ErrorShape {
  code?: unknown;
  message?: unknown;
  address?: unknown;
  port?: unknown;
  errors?: unknown;
  meta?: { driverAdapterError?: { cause?: AdapterCause } };
}

const MIGRATE_HINT = 'run `gatehouse db migrate` (as the role that owns the schema: GATEHOUSE_MIGRATION_DATABASE_URL), or `npm start`, which migrates';

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'P1001', 'P1002']);

function unreachable(where: string | undefined): string {
  return `cannot reach the database${where ? ` at ${where}` : ''}: is PostgreSQL running, and is DATABASE_URL right? (with no DATABASE_URL, \`npm start\` runs the embedded one)`;
}

function loginRefused(reason: string): string {
  // The application role is created by the first start (or migrations); missing, the database was never set up.
  if (/role "gatehouse_app" does not exist/.test(reason)) return `the database is not set up for Gatehouse (${reason}): ${MIGRATE_HINT}`;
  return `the database refused the login (${reason}): check the user and password in DATABASE_URL`;
}

/** One line for a known database failure, or null when `error` is not one. */
export function describeDatabaseError(error: unknown): string | null {
  if (error === null || typeof error !== 'object') return null;
  const shape = error as ErrorShape;
  const cause = shape.meta?.driverAdapterError?.cause;
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  const kind = cause?.kind;
  const pgCode = cause?.originalCode ?? code;
  const original = cause?.originalMessage ?? (typeof shape.message === 'string' ? shape.message.split('\n')[0] : '');

  if (kind === 'DatabaseNotReachable' || (code && UNREACHABLE_CODES.has(code))) {
    const where = cause?.host ? `${cause.host}:${cause.port}` : typeof shape.address === 'string' ? `${shape.address}:${shape.port}` : undefined;
    return unreachable(where);
  }
  // node-postgres reports a refused connection to several addresses as an AggregateError with no message.
  if (Array.isArray(shape.errors) && shape.errors.length > 0) {
    const inner = shape.errors.map(describeDatabaseError).find((line) => line !== null);
    if (inner) return inner;
  }
  if (kind === 'DatabaseAccessDenied' || kind === 'AuthenticationFailed' || pgCode === '28000' || pgCode === '28P01') return loginRefused(original || 'access denied');
  if (kind === 'DatabaseDoesNotExist' || pgCode === '3D000') return `${original || 'the database does not exist'}: create it, or check the database name in DATABASE_URL`;
  if (kind === 'TableDoesNotExist' || code === 'P2021' || pgCode === '42P01') return `the database has no Gatehouse tables yet (${original || 'table missing'}): ${MIGRATE_HINT}`;
  return null;
}

/**
 * Any error as one line: the database sentence when there is one; for Prisma's multi-line
 * messages (a source excerpt, then the reason), the reason; otherwise the first line.
 */
export function oneLineError(error: unknown): string {
  const known = describeDatabaseError(error);
  if (known) return known;
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split('\n').map((line) => line.trim()).filter(Boolean);
  if (lines.length === 0) return error instanceof Error ? error.name : 'unknown error';
  return /^Invalid `.*` invocation/.test(lines[0]!) ? lines.at(-1)! : lines[0]!;
}
