import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));

// Browser tests against the real server (scripts/web.ts on the built app), a fresh database and
// Debian's Chromium. Run: npx vitest run -c e2e/vitest.config.ts
export default defineConfig({
  root,
  resolve: { alias: { '@': root } },
  test: {
    include: ['e2e/**/*.e2e.ts'],
    globalSetup: ['e2e/global-setup.ts'],
    // A first `next build` and server start happen in global setup.
    hookTimeout: 600_000,
    testTimeout: 60_000,
    // One server, one browser; files would only compete for them.
    fileParallelism: false,
    pool: 'forks',
  },
});
