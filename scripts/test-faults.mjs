#!/usr/bin/env node
// `npm run test:faults`: the fault suite (faults/), which runs the built app, so it builds first
// when sources changed, as `npm test` does before its browser tests.
import { spawnSync } from 'node:child_process';
import { buildIfStale, generatePrismaClient, installDependencies, root } from './lib/prepare.mjs';

const log = (line) => console.log(`test:faults: ${line}`);
installDependencies(log);
generatePrismaClient(log);
buildIfStale(log);
const result = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '-c', 'faults/vitest.config.ts', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
