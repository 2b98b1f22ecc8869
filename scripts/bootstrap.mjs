#!/usr/bin/env node
// `npm start`: install what is missing, build if needed, then hand over to the supervisor
// (scripts/start.ts), which runs the database, migrations, web server and worker.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { buildClientsIfStale, buildIfStale, buildServersIfStale, generatePrismaClient, installDependencies, root } from './lib/prepare.mjs';
import { serverEntry } from './lib/server-bundle.mjs';

const log = (line) => console.log(`gatehouse: ${line}`);
installDependencies(log);
generatePrismaClient(log);
const dev = process.argv.includes('--dev');
if (!dev) {
  buildIfStale(log);
  await buildServersIfStale(log);
}
await buildClientsIfStale(log);

// Its own process group: Ctrl-C reaches the terminal's foreground group, and the embedded
// PostgreSQL the supervisor starts must not be in it, or it shuts down at once, under the web
// server and the worker still draining (and the worker's shutdown checkpoint). The IPC channel
// tells the supervisor when we are gone without having forwarded a signal (killed outright).
// Production runs the ahead-of-time build (dist/server/); development the sources under tsx.
const supervisor = dev ? ['--import', 'tsx', path.join(root, 'scripts', 'start.ts')] : [serverEntry('supervisor')];
const child = spawn(process.execPath, [...supervisor, ...process.argv.slice(2)], {
  cwd: root,
  stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  detached: true,
  env: dev ? { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.json') } : process.env,
});
// We forward the signal; the supervisor does the orderly shutdown, we wait for it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1)));
