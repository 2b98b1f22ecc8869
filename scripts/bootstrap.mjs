#!/usr/bin/env node
// `npm start`: install what is missing, build if needed, then hand over to the supervisor
// (scripts/start.ts), which runs the database, migrations, web server and worker.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { buildClientsIfStale, buildIfStale, generatePrismaClient, installDependencies, root } from './lib/prepare.mjs';

const log = (line) => console.log(`gatehouse: ${line}`);
installDependencies(log);
generatePrismaClient(log);
if (!process.argv.includes('--dev')) buildIfStale(log);
await buildClientsIfStale(log);

// Its own process group: Ctrl-C reaches the terminal's foreground group, and the embedded
// PostgreSQL the supervisor starts must not be in it, or it shuts down at once, under the web
// server and the worker still draining (and the worker's shutdown checkpoint). The IPC channel
// tells the supervisor when we are gone without having forwarded a signal (killed outright).
const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'start.ts'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  detached: true,
  env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.json') },
});
// We forward the signal; the supervisor does the orderly shutdown, we wait for it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1)));
