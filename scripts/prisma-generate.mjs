#!/usr/bin/env node
// `prisma generate` needs no engine, but the CLI insists that PRISMA_SCHEMA_ENGINE_BINARY names an
// existing file before it will run offline. Any file will do; we point it at this script.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: fileURLToPath(import.meta.url), PRISMA_HIDE_UPDATE_MESSAGE: '1' };
const result = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
