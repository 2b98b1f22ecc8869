import { defineConfig } from 'prisma/config';

// Migrations are applied by `npm run db:migrate` through the WASM schema engine (lib/db/migrate.ts),
// so this file only tells the Prisma CLI where the schema and migrations live.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
