import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));

// `npm run test:faults`: Gatehouse's processes under load while PostgreSQL, Redis, the worker, the
// web process or the upstream fail (faults/rig.ts). Needs the built app (`next build`).
export default defineConfig({
  root,
  resolve: { alias: { '@': root } },
  test: {
    include: ['faults/**/*.fault.ts'],
    // Deadlines for a loaded 2-core machine (a rig's start alone took 3 minutes there), not timings.
    hookTimeout: 600_000,
    testTimeout: 600_000,
    // Each file runs its own Gatehouse and PostgreSQL; side by side they would only slow each other.
    fileParallelism: false,
    pool: 'forks',
  },
});
