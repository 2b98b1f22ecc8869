import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { PrismaClient } from '@/lib/generated/prisma/client';
import { stopChannelListeners } from './listen';
import { createAppPool } from './pool';

export type Database = PrismaClient;

interface DatabaseHandles {
  url: string;
  pool: pg.Pool;
  prisma: PrismaClient;
}

// One pool and one client per process, kept on globalThis so Next's module reloading in dev
// and the custom server share them instead of opening new connections.
const globalHandles = globalThis as typeof globalThis & { __gatehouseDb?: DatabaseHandles };

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set (npm start sets it for the embedded database)');
  return url;
}

function handles(): DatabaseHandles {
  const url = databaseUrl();
  const existing = globalHandles.__gatehouseDb;
  if (existing && existing.url === url) return existing;
  const pool = createAppPool(url);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  globalHandles.__gatehouseDb = { url, pool, prisma };
  return globalHandles.__gatehouseDb;
}

/** The Prisma client for ordinary tables. */
export function db(): PrismaClient {
  return handles().prisma;
}

/** The raw pool, for the audit spine and anything Prisma cannot express. */
export function pool(): pg.Pool {
  return handles().pool;
}

export async function closeDatabase(): Promise<void> {
  await stopChannelListeners();
  const existing = globalHandles.__gatehouseDb;
  globalHandles.__gatehouseDb = undefined;
  if (!existing) return;
  await existing.prisma.$disconnect();
  await existing.pool.end();
}
