// The operator's first hour, scripted as README's "Try the gateway" tells it: a fresh data
// directory, `npm start` (its supervisor, scripts/start.mjs, on the built app with the embedded
// PostgreSQL), the demo upstream, gatehouse.example.yaml copied after the first start, a restart,
// `gatehouse token mint`, the curl request, a request shaped as Claude Code sends it, and a user
// created with the CLI who then signs in the way Claude Code's /login does, in the tenant the
// dashboard shows. Everything runs on free ports in a temporary directory and is stopped here.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_UPSTREAM_PORT } from '@/lib/demo/upstream';
import { freePort } from '@/lib/platform/net';
import { launchChromium, signInDeviceAs, signInWithPassword } from './browser';
import { run as runProcess, shellEnvironment, stop, type Running } from './processes';

const ROOT = process.cwd();
const ADMIN = 'admin@gatehouse.local';
const exec = promisify(execFile);

let scratch: string;
let dataDir: string;
let configFile: string;
let port: number;
let baseUrl: string;
let demo: Running | undefined;
let gatehouse: Running | undefined;
let browser: Browser | undefined;
let environment: NodeJS.ProcessEnv;

/** What a newcomer's shell has: none of the test run's database, Redis or Gatehouse settings. */
function newcomerEnvironment(): NodeJS.ProcessEnv {
  return shellEnvironment({
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_CONFIG: configFile,
    PORT: String(port),
    HOST: '127.0.0.1',
    // The browser and the tokens use one origin (localhost may resolve to ::1, where nothing listens).
    GATEHOUSE_PUBLIC_URL: baseUrl,
  });
}

/** Started with the newcomer's environment. */
function run(args: string[]): Running {
  return runProcess(args, environment);
}

async function startGatehouse(): Promise<Running> {
  const running = runProcess(['scripts/start.mjs'], environment, { tsx: false });
  await running.waitFor(/^gatehouse: ready at /);
  return running;
}

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await exec(process.execPath, ['cli/gatehouse.mjs', ...args], { cwd: ROOT, env: environment });
  return stdout.trim();
}

async function adminPassword(): Promise<string> {
  const text = await readFile(path.join(dataDir, 'admin-credentials'), 'utf8');
  return /^password=(.*)$/m.exec(text)![1]!;
}

/** The SSE stream's event names and the text of its text deltas. */
async function readStream(response: Response): Promise<{ events: string[]; text: string }> {
  const body = await response.text();
  const events: string[] = [];
  let text = '';
  for (const frame of body.split('\n\n').filter(Boolean)) {
    const event = /^event: (.+)$/m.exec(frame)?.[1];
    const data = /^data: (.+)$/m.exec(frame)?.[1];
    if (event) events.push(event);
    const parsed = data ? (JSON.parse(data) as { delta?: { type?: string; text?: string } }) : null;
    if (parsed?.delta?.type === 'text_delta') text += parsed.delta.text ?? '';
  }
  return { events, text };
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-newcomer-'));
  // As root, the embedded PostgreSQL runs as the postgres user, who must reach its data directory.
  await chmod(scratch, 0o755);
  dataDir = path.join(scratch, 'data');
  await mkdir(dataDir);
  configFile = path.join(scratch, 'gatehouse.yaml');
  port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  environment = newcomerEnvironment();
  const demoPort = await freePort();
  demo = run(['scripts/demo-upstream.ts', '--port', String(demoPort)]);
  await demo.waitFor(/^demo upstream: listening on /, 60_000);
  environment.DEMO_PORT = String(demoPort);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stop(gatehouse);
  await stop(demo);
  await rm(scratch, { recursive: true, force: true });
}, 120_000);

describe('the first hour, as README tells it', () => {
  it('a first start on a fresh data directory says in one line that no models are configured, and where', async () => {
    gatehouse = await startGatehouse();
    const notices = gatehouse.lines.filter((line) => line.includes('no models configured'));
    expect(notices).toEqual([`config: no models configured, so the gateway refuses every request: add providers and models to ${configFile} (README.md, "Try the gateway")`]);
    expect(await stop(gatehouse)).toBe(0);
  }, 240_000);

  it('the example, copied after that start, starts again in the same tenant and answers the README curl through the demo upstream', async () => {
    const example = await readFile(path.join(ROOT, 'gatehouse.example.yaml'), 'utf8');
    expect(example).toContain(`http://127.0.0.1:${DEMO_UPSTREAM_PORT}`);
    // Copied as it is, but for the demo upstream's port: this one runs on a free port.
    await writeFile(configFile, example.replaceAll(`127.0.0.1:${DEMO_UPSTREAM_PORT}`, `127.0.0.1:${environment.DEMO_PORT}`));
    gatehouse = await startGatehouse();
    // Before: "a user with email admin@gatehouse.local already exists", from a second tenant.
    await gatehouse.waitFor(/^worker: tenant: renamed "default" \(Default\) to "example" \(Example Corp\)$/, 60_000);
    expect(gatehouse.lines.filter((line) => line.includes('tenant:'))).toHaveLength(1);
    expect(gatehouse.lines.join('\n')).not.toMatch(/no models configured|already exists/);

    const token = await cli('token', 'mint', '--email', ADMIN);
    const response = await fetch(`${baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 200, messages: [{ role: 'user', content: 'Hello, gateway' }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{32}$/);
    const message = (await response.json()) as { content: { type: string; text: string }[] };
    expect(message.content[0]?.text).toMatch(/^Hello from the Gatehouse demo upstream, answering as claude-sonnet-4-5\. You said: "Hello, gateway"\./);
    await demo!.waitFor(/^demo upstream: POST \/v1\/messages claude-sonnet-4-5$/, 5_000);
  }, 240_000);

  it('answers a request shaped as Claude Code sends it (apiKeyHelper), asking for its own default model, streamed', async () => {
    const token = await cli('token', 'mint', '--email', ADMIN);
    const response = await fetch(`${baseUrl}/v1/messages?beta=true`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'x-api-key': token,
        accept: 'application/json',
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
        'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,effort-2025-11-24',
        'anthropic-dangerous-direct-browser-access': 'true',
        'user-agent': 'claude-cli/2.1.330 (external, sdk-cli)',
        'x-app': 'cli',
        'x-claude-code-session-id': '0f8e1c52-5d53-4bd4-9d68-8c8e0a0c41a7',
        'x-stainless-lang': 'js',
        'x-stainless-package-version': '0.128.0',
        'x-stainless-retry-count': '0',
        'x-stainless-runtime': 'node',
        'x-stainless-timeout': '600',
      },
      body: JSON.stringify({
        model: 'claude-opus-4-7',
        max_tokens: 32000,
        stream: true,
        system: [
          { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.330.d01; cc_entrypoint=sdk-cli;' },
          { type: 'text', text: 'You are Claude Code, a CLI for software engineering.', cache_control: { type: 'ephemeral' } },
        ],
        tools: [
          { name: 'Bash', description: 'Run a shell command', input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } },
          { name: 'Read', description: 'Read a file', input_schema: { type: 'object', properties: { file_path: { type: 'string' } }, required: ['file_path'] } },
        ],
        messages: [
          { role: 'user', content: [{ type: 'text', text: '<system-reminder>The date is today.</system-reminder>' }, { type: 'text', text: 'Hello, gateway' }] },
        ],
        metadata: { user_id: JSON.stringify({ device_id: 'a1b2c3', account_uuid: '', session_id: '0f8e1c52-5d53-4bd4-9d68-8c8e0a0c41a7' }) },
        thinking: { type: 'adaptive', display: 'omitted' },
        context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
        output_config: { effort: 'medium' },
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const { events, text } = await readStream(response);
    expect(events[0]).toBe('message_start');
    expect(events.at(-1)).toBe('message_stop');
    expect(events).toContain('message_delta');
    // claude-opus-4-7 is not configured: gateway.map_unknown_claude_models served it with the default model.
    expect(text).toMatch(/^Hello from the Gatehouse demo upstream, answering as claude-sonnet-4-5\. You said: "Hello, gateway"\./);
  }, 60_000);

  it('a user created with the CLI is in the tenant the dashboard shows, and signs in as Claude Code /login does', async () => {
    const email = 'new.person@example.com';
    const created = await cli('users', 'create', '--email', email, '--name', 'New Person');
    const password = /password: (\S+)/.exec(created)![1]!;

    browser = await launchChromium();
    const admin = await (await browser.newContext({ baseURL: baseUrl })).newPage();
    await signInWithPassword(admin, ADMIN, await adminPassword());
    await admin.goto('/users');
    await admin.getByRole('link', { name: email }).waitFor();

    // Claude Code's /login: the device flow, approved in the browser by the user themself.
    const person = await (await browser.newContext({ baseURL: baseUrl })).newPage();
    await signInWithPassword(person, email, password);
    const { accessToken } = await signInDeviceAs(person, baseUrl);

    // Signed in, Claude Code reads its managed settings: a model the gateway serves, and telemetry on.
    const managed = (await (await fetch(`${baseUrl}/managed/settings`, { headers: { authorization: `Bearer ${accessToken}` } })).json()) as { settings: { model?: string; env?: Record<string, string> } };
    expect(managed.settings.model).toBe('claude-sonnet-4-5');
    expect(managed.settings.env).toMatchObject({ CLAUDE_CODE_ENABLE_TELEMETRY: '1', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY: '1' });
    const models = (await (await fetch(`${baseUrl}/v1/models?limit=1000`, { headers: { authorization: `Bearer ${accessToken}` } })).json()) as { data: { id: string }[] };
    expect(models.data.map((model) => model.id)).toContain(managed.settings.model);
    // Its telemetry goes to the gateway's OTLP endpoint (an empty protobuf export is a valid one).
    const metrics = await fetch(`${baseUrl}/v1/metrics`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/x-protobuf' }, body: new Uint8Array() });
    expect(metrics.status).toBe(200);

    const answer = await fetch(`${baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: managed.settings.model, max_tokens: 100, messages: [{ role: 'user', content: 'Hi from a signed-in user' }] }),
    });
    expect(answer.status).toBe(200);

    expect(await stop(gatehouse)).toBe(0);
    gatehouse = undefined;
  }, 180_000);
});
