#!/usr/bin/env node
// `npm start`: install what is missing, build if needed, then hand over to the supervisor
// (scripts/start.ts), which runs the database, migrations, web server and worker.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { buildIfStale, generatePrismaClient, installDependencies, root } from './lib/prepare.mjs';

const log = (line) => console.log(`gatehouse: ${line}`);
installDependencies(log);
generatePrismaClient(log);
if (!process.argv.includes('--dev')) buildIfStale(log);

const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'start.ts'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.json') },
});
// Ctrl-C reaches the whole process group; the supervisor does the orderly shutdown, we wait for it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1)));
