import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** What `npm start` has settled by the time it starts the web server and the worker. */
export interface ChildSettings {
  databaseUrl: string;
  secret: string;
  /** The one public URL (lib/platform/public-url): issuer, audiences, next-auth's URL. */
  publicUrl: string;
  port: number;
  host: string;
}

/**
 * The environment of the web and worker processes: the parent's, with what start settled made
 * explicit, so every process (and the CLI, through the runtime file) agrees on one public URL
 * instead of each deriving its own.
 */
export function childEnvironment(parent: NodeJS.ProcessEnv, settings: ChildSettings): NodeJS.ProcessEnv {
  return {
    ...parent,
    DATABASE_URL: settings.databaseUrl,
    GATEHOUSE_SECRET: settings.secret,
    GATEHOUSE_PUBLIC_URL: settings.publicUrl,
    NEXTAUTH_URL: settings.publicUrl,
    PORT: String(settings.port),
    HOST: settings.host,
    // The supervisor has printed what it loaded (gatehouse.yaml); children do not repeat it.
    GATEHOUSE_SUPERVISED: '1',
  };
}

/** What the web process tells the supervisor over IPC once it listens (scripts/web.ts). */
export interface ListeningMessage {
  type: 'listening';
  url: string;
}

/**
 * Whether this code runs from the ahead-of-time build (dist/server/, scripts/lib/server-bundle.mjs):
 * then the children do too; run from source (tsx: `npm run dev`, the tests), they run under tsx.
 */
function compiledDirectory(): string | null {
  const here = fileURLToPath(import.meta.url);
  return here.split(path.sep).slice(-3, -1).join('/') === 'dist/server' ? path.dirname(here) : null;
}

/**
 * Starts a production process — `web` (scripts/web.ts) or `worker` (workers/main.ts) — as a child
 * that shares our stdout/stderr: compiled (dist/server/NAME.mjs) when we run compiled, else the
 * TypeScript source under tsx. With `ipc`, also a message channel (see listeningMessage).
 */
export function startAppProcess(name: 'web' | 'worker', env: NodeJS.ProcessEnv, args: string[] = [], options: { ipc?: boolean } = {}): ManagedProcess {
  const root = process.cwd();
  const compiled = compiledDirectory();
  const source = { web: 'scripts/web.ts', worker: 'workers/main.ts' }[name];
  const nodeArgs = compiled ? [path.join(compiled, `${name}.mjs`)] : ['--import', 'tsx', path.join(root, source)];
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    cwd: root,
    stdio: options.ipc ? ['inherit', 'inherit', 'inherit', 'ipc'] : 'inherit',
    env: compiled ? env : { ...env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.json') },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, exited };
}

/** SIGTERM, then SIGKILL for a child that has not exited after `graceMs`. */
export async function stopProcess(managed: ManagedProcess, graceMs = 10_000): Promise<void> {
  if (managed.child.exitCode !== null || managed.child.signalCode !== null) return;
  managed.child.kill('SIGTERM');
  const timer = setTimeout(() => managed.child.kill('SIGKILL'), graceMs);
  await managed.exited;
  clearTimeout(timer);
}

/**
 * The child's "listening" message, or null when it exits first. Readiness comes from the child
 * itself: probing the port alone would take another program answering there (a second
 * `npm start` on a port already in use) for our web server.
 */
export function listeningMessage(managed: ManagedProcess): Promise<ListeningMessage | null> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if ((message as Partial<ListeningMessage> | null)?.type !== 'listening') return;
      managed.child.off('message', onMessage);
      resolve(message as ListeningMessage);
    };
    managed.child.on('message', onMessage);
    void managed.exited.then(() => {
      managed.child.off('message', onMessage);
      resolve(null);
    });
  });
}

export async function waitForHttp(url: string, timeoutMs: number, isAlive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && isAlive()) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}
