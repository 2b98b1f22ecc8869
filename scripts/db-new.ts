// `npm run db:new NAME`: writes prisma/migrations/<timestamp>_NAME/migration.sql from the schema diff.
// The diff is computed on a shadow database created with the migration role's URL (or an embedded server).
import { createMigration } from '@/lib/db/migrations';
import { withAnyDatabase } from '@/lib/db/server';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:new NAME   (NAME: lower-case letters, digits and underscores)');
  process.exit(2);
}

await withAnyDatabase(async (databaseUrl) => {
  const dir = await createMigration(databaseUrl, name);
  console.log(dir ? `created ${dir}` : 'no schema changes: nothing to write');
}, 'migration');
