import { describe, expect, it } from 'vitest';
import { closeDatabase, db } from './client';
import { describeDatabaseError, oneLineError } from './errors';
import { freePort } from '@/lib/platform/net';

/** The error Prisma throws for a query against `url`. */
async function prismaErrorAt(url: string): Promise<unknown> {
  const previous = process.env.DATABASE_URL;
  process.env.DATABASE_URL = url;
  try {
    await db().user.findMany();
    return null;
  } catch (error) {
    return error;
  } finally {
    await closeDatabase();
    process.env.DATABASE_URL = previous;
  }
}

describe('database errors in one line', () => {
  it('says the server cannot be reached, where, and what to check (Prisma, through the pg adapter)', async () => {
    const port = await freePort();
    const error = await prismaErrorAt(`postgres://gatehouse_app:x@127.0.0.1:${port}/gatehouse`);
    expect((error as Error).message.split('\n').length).toBeGreaterThan(3);
    expect(oneLineError(error)).toBe(
      `cannot reach the database at 127.0.0.1:${port}: is PostgreSQL running, and is DATABASE_URL right? (with no DATABASE_URL, \`npm start\` runs the embedded one)`,
    );
  });

  it('names a missing database and a refused login', async () => {
    const server = new URL(process.env.GATEHOUSE_TEST_SUPERUSER_URL ?? process.env.DATABASE_URL!);
    const missing = new URL(server);
    missing.pathname = '/gatehouse_no_such_database';
    expect(oneLineError(await prismaErrorAt(missing.toString()))).toBe('database "gatehouse_no_such_database" does not exist: create it, or check the database name in DATABASE_URL');
    const stranger = new URL(server);
    stranger.username = 'gatehouse_no_such_role';
    stranger.password = 'x';
    expect(oneLineError(await prismaErrorAt(stranger.toString()))).toMatch(/^the database refused the login \(.*gatehouse_no_such_role.*\): check the user and password in DATABASE_URL$/);
  });

  it('maps node-postgres errors by SQLSTATE, and the missing application role to the migrate command', () => {
    expect(describeDatabaseError(Object.assign(new Error('role "gatehouse_app" does not exist'), { code: '28000' }))).toBe(
      'the database is not set up for Gatehouse (role "gatehouse_app" does not exist): run `gatehouse db migrate` (as the role that owns the schema: GATEHOUSE_MIGRATION_DATABASE_URL), or `npm start`, which migrates',
    );
    expect(describeDatabaseError(Object.assign(new Error('relation "users" does not exist'), { code: '42P01' }))).toMatch(/^the database has no Gatehouse tables yet \(relation "users" does not exist\): run `gatehouse db migrate`/);
    const refused = Object.assign(new AggregateError([Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 1 })], ''), { code: 'ECONNREFUSED' });
    expect(describeDatabaseError(refused)).toMatch(/^cannot reach the database/);
    expect(describeDatabaseError(new Error('something else'))).toBeNull();
  });

  it('keeps any other error to one line: the reason of a Prisma invocation message, else the first line', () => {
    expect(oneLineError(new Error('\nInvalid `db().user.findMany()` invocation in\n/x.ts:1:1\n\n→ 1 db()\nSomething specific went wrong'))).toBe('Something specific went wrong');
    expect(oneLineError(new Error('first\nsecond'))).toBe('first');
    expect(oneLineError(undefined)).toBe('undefined');
  });
});
