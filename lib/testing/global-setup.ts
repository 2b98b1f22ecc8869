import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { dropDatabase } from '@/lib/db/admin';
import { startEmbeddedPostgres, type EmbeddedServer } from '@/lib/db/embedded';
import { createTestDatabase } from './database';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    adminDatabaseUrl: string;
    redisPrefix: string;
  }
}

/**
 * Each run gets a database of its own (on DATABASE_URL's server, or on an embedded cluster under
 * .test-data/), migrated from scratch and dropped afterwards, so runs never collide. DATABASE_URL
 * here is a superuser's; tests get the least-privileged application login instead, as the product
 * runs, and the superuser's URL for the tests that tamper with rows.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  let embedded: EmbeddedServer | undefined;
  let adminUrl: string;
  if (process.env.DATABASE_URL) {
    adminUrl = process.env.DATABASE_URL;
  } else {
    embedded = await startEmbeddedPostgres(path.resolve('.test-data'));
    adminUrl = embedded.adminUrl;
  }
  const database = `gatehouse_test_${runId}`;
  const { appUrl, superuserUrl } = await createTestDatabase(adminUrl, database);

  project.provide('databaseUrl', appUrl);
  project.provide('adminDatabaseUrl', superuserUrl);
  project.provide('redisPrefix', `gatehouse-test-${runId}`);

  return async () => {
    await dropDatabase(adminUrl, database).catch((error: Error) => console.warn(`could not drop ${database}: ${error.message}`));
    await embedded?.stop();
  };
}
