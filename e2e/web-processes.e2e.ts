// `npm start` with two web processes on one port (WEB_CONCURRENCY=2, REDIS_URL set), from a fresh
// data directory: both serve (node:cluster hands connections round-robin), MCP sessions opened on
// either keep working whichever process later requests land on (lib/http/peers.ts forwards them
// to the owner), and Ctrl-C stops everything, the embedded PostgreSQL last, leaving no process.
import { request } from 'node:http';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@/lib/platform/net';
import { gatehouseCli, processAlive, processGroupMembers, run, shellEnvironment, stop, type Running } from './processes';

let scratch: string;
let dataDir: string;
let baseUrl: string;
let environment: NodeJS.ProcessEnv;
let gatehouse: Running | undefined;
let token: string;

/**
 * fetch() over a connection of its own for every request (global fetch keeps connections alive,
 * and a kept connection stays with one web process): round-robin then spreads requests, as
 * many clients would.
 */
function fetchOnNewConnection(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : input);
  const headers = new Headers(init.headers);
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: init.method ?? 'GET', agent: false, headers: Object.fromEntries(headers) }, (incoming) => {
      const answerHeaders = new Headers();
      for (const [name, value] of Object.entries(incoming.headers)) if (typeof value === 'string') answerHeaders.set(name, value);
      const body = incoming.statusCode === 202 || incoming.statusCode === 204 ? null : (Readable.toWeb(incoming) as ReadableStream<Uint8Array>);
      if (!body) incoming.resume();
      resolve(new Response(body, { status: incoming.statusCode, headers: answerHeaders }));
    });
    outgoing.on('error', reject);
    init.signal?.addEventListener('abort', () => outgoing.destroy());
    outgoing.end(typeof init.body === 'string' ? init.body : undefined);
  });
}

async function mcpClient(): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } }, fetch: fetchOnNewConnection });
  const client = new Client({ name: 'web-processes-e2e', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

beforeAll(async () => {
  const prepare = (await import(path.join(process.cwd(), 'scripts', 'lib', 'prepare.mjs'))) as { buildIfStale(log: (line: string) => void): void };
  prepare.buildIfStale((line) => console.log(`e2e: ${line}`));
  scratch = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-web-processes-'));
  // As root, the embedded PostgreSQL runs as the postgres user, who must reach its data directory.
  await chmod(scratch, 0o755);
  dataDir = path.join(scratch, 'data');
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  environment = shellEnvironment({
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_CONFIG: path.join(scratch, 'gatehouse.yaml'),
    PORT: String(port),
    HOST: '127.0.0.1',
    GATEHOUSE_PUBLIC_URL: baseUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    // Its own keys in a Redis other tests share.
    GATEHOUSE_REDIS_PREFIX: `gh-web-processes-${port}`,
    WEB_CONCURRENCY: '2',
  });
}, 600_000);

// What Gatehouse printed, when a test failed: the lines are kept, not shown.
afterEach(({ task }) => {
  if (task.result?.state === 'fail' && gatehouse) console.log(gatehouse.lines.join('\n'));
});

afterAll(async () => {
  await stop(gatehouse, { group: true }).catch(() => undefined);
  await rm(scratch, { recursive: true, force: true });
}, 120_000);

describe('npm start with two web processes', () => {
  it('refuses two web processes without REDIS_URL, in one line, before it starts anything', async () => {
    const { REDIS_URL: _redis, ...withoutRedis } = environment;
    const refused = run(['scripts/start.mjs'], withoutRedis, { tsx: false });
    expect(await refused.exited).toBe(2);
    expect(refused.lines).toEqual(['gatehouse: WEB_CONCURRENCY=2 needs REDIS_URL: without Redis each web process would count rate limits and budgets on its own, letting through 2 times the limit']);
    expect(existsSync(path.join(dataDir, 'pg'))).toBe(false);
  }, 120_000);

  it('starts both on one port from a fresh data directory, and MCP sessions opened on either work from both', async () => {
    gatehouse = run(['scripts/start.mjs'], environment, { tsx: false });
    await gatehouse.waitFor(/^gatehouse: ready at .* \(2 web processes: WEB_CONCURRENCY\)$/);
    const webs = processGroupMembers(gatehouse.child.pid!).filter((member) => member.includes('dist/server/web.mjs'));
    expect(webs).toHaveLength(2);

    const minted = await gatehouseCli(['token', 'mint', '--email', 'admin@gatehouse.local', '--aud', `${baseUrl}/mcp`], environment);
    expect(minted.code).toBe(0);
    token = minted.stdout.trim();

    // Each initialize is a connection of its own, handed to the web processes in turn.
    const sessions = [];
    for (let opened = 0; opened < 4; opened++) sessions.push(await mcpClient());
    const owners = new Set(sessions.map(({ transport }) => /^w(\d)\./.exec(transport.sessionId ?? '')?.[1]));
    expect(owners).toEqual(new Set(['1', '2']));
    // Every later request is a new connection too: about half land on the other process, which
    // forwards them (and the notification streams the clients opened) to the session's owner.
    for (let round = 0; round < 3; round++) {
      for (const { client } of sessions) {
        expect((await client.listPrompts()).prompts).toEqual(expect.any(Array));
        expect((await client.listResources()).resources).toEqual(expect.any(Array));
      }
    }

    // A session whose process is gone: the client is told to start a new one, in MCP's shape.
    const orphan = await fetchOnNewConnection(`${baseUrl}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'w9.00000000-0000-4000-8000-000000000000' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(orphan.status).toBe(404);
    expect(await orphan.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 } });
    for (const { client } of sessions) await client.close();
  }, 240_000);

  it('Ctrl-C stops both web processes and the worker, then the embedded PostgreSQL, and leaves no process', async () => {
    const running = gatehouse!;
    const supervisor = running.child.pid!;
    const postmaster = Number((await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    const webPids = processGroupMembers(supervisor)
      .filter((member) => member.includes('dist/server/web.mjs'))
      .map((member) => Number(member.split(' ')[0]));
    const peersDir = /(?:^|\0)GATEHOUSE_WEB_PEERS_DIR=([^\0]+)/.exec(await readFile(`/proc/${webPids[0]}/environ`, 'utf8'))?.[1];
    expect(peersDir).toBeDefined();
    // Only this user may reach the sockets: anyone connecting there speaks as the client's address.
    expect((await stat(peersDir!)).mode & 0o777).toBe(0o700);
    const before = running.lines.length;

    expect(await stop(running, { group: true })).toBe(0);
    const stopping = running.lines.slice(before);
    expect(stopping.filter((line) => /^\s+at |Error\b|error:|FATAL|ECONNREFUSED|terminat|Unhandled/i.test(line))).toEqual([]);
    const at = (pattern: RegExp) => stopping.findIndex((line) => pattern.test(line));
    const lastWeb = stopping.reduce((last, line, index) => (/^web: SIG(INT|TERM) received, closing$/.test(line) ? index : last), -1);
    expect(stopping.filter((line) => /^web: SIG(INT|TERM) received, closing$/.test(line))).toHaveLength(2);
    expect(at(/^worker: stopped$/)).toBeGreaterThan(-1);
    expect(at(/^database: embedded PostgreSQL stopped$/)).toBeGreaterThan(Math.max(lastWeb, at(/^worker: stopped$/)));

    expect(processGroupMembers(supervisor).filter((member) => !/^\d+ Z/.test(member))).toEqual([]);
    for (const pid of [supervisor, postmaster, ...webPids]) expect(processAlive(pid)).toBe(false);
    expect(existsSync(path.join(dataDir, 'runtime.json'))).toBe(false);
    expect(existsSync(peersDir!)).toBe(false);
  }, 120_000);
});
