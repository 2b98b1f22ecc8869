import { inject } from 'vitest';

// Test files see the per-run database exactly as the product would: through DATABASE_URL, which
// logs in as the least-privileged application role, with the schema owner's URL for migrations.
process.env.DATABASE_URL = inject('databaseUrl');
process.env.GATEHOUSE_MIGRATION_DATABASE_URL = inject('adminDatabaseUrl');
process.env.GATEHOUSE_TEST_SUPERUSER_URL = inject('adminDatabaseUrl');
process.env.GATEHOUSE_REDIS_PREFIX = inject('redisPrefix');
