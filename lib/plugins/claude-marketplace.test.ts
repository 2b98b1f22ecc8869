// The per-user marketplace with the real Claude Code CLI: declared in its settings with a
// headersHelper (as Gatehouse's managed settings declare it), recorded when a session starts, and
// `claude plugin install` fetching the entitled plugin's ZIP with the user's credential. Claude
// Code takes archives only over https from a non-loopback host, so the gateway is reached as
// https://gatehouse.test through a local CONNECT proxy and a TLS front with a throwaway CA.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoUpstream, type DemoUpstream } from '@/lib/demo/upstream';
import { mintAccessToken } from '@/lib/oauth/mint';
import { servePublicly } from '@/lib/oauth/test-harness';
import { findClaudeCode, runClaudeCode, type ClaudeRun } from '@/lib/testing/claude-code';
import { startConnectProxy, type ConnectProxy } from '@/lib/testing/connect-proxy';
import { startLoopbackTlsServer, type LoopbackTlsServer } from '@/lib/testing/loopback-tls';
import { tenantSlug } from '@/lib/users/tenant';
import { approveVersion, entitle } from './lifecycle';
import { claudeCodeMarketplaceDeclaration, marketplaceName } from './marketplace-manifest';
import { samplePluginFiles } from './testing/sample';
import { actorOf, publishSample, startPluginServer, uniqueName, users, type GatewayHarness } from './testing/harness';

const HOST = 'gatehouse.test';
const ORIGIN = `https://${HOST}`;
const claude = findClaudeCode();
if ('skip' in claude) console.warn(`skipping the Claude Code marketplace test: ${claude.skip}`);

let server: GatewayHarness;
let front: LoopbackTlsServer;
let proxy: ConnectProxy;
let demo: DemoUpstream;
let model: Server;
let modelUrl: string;
/** Set by the test: the model's answer waits until this holds (or 60 s pass). */
let holdAnswersUntil: () => boolean = () => true;
let scratch: string;
let people: Awaited<ReturnType<typeof users>>;
const names = { research: uniqueName('cc-research'), sales: uniqueName('cc-sales') };
const archiveCallers: string[] = [];

/** The TLS front: every request passed on to the gateway's loopback address as it came. */
function forwardTo(target: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/api/v1/plugins/archive/')) archiveCallers.push(req.headers.authorization ?? '');
    const upstream = httpRequest(`${target}${req.url ?? '/'}`, { agent: false, method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.on('error', () => upstream.destroy());
    res.on('error', () => upstream.destroy());
    req.pipe(upstream);
  };
}

function runClaude(home: string, args: string[]): Promise<ClaudeRun> {
  return runClaudeCode(args, {
    home,
    env: {
      HTTPS_PROXY: proxy.url,
      NO_PROXY: '127.0.0.1',
      NODE_EXTRA_CA_CERTS: path.join(scratch, 'ca.pem'),
      ANTHROPIC_BASE_URL: modelUrl,
      ANTHROPIC_API_KEY: 'sk-ant-demo-key-for-the-session',
      // The marketplace is recorded and fetched in the background of a session: keep that traffic.
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: undefined,
    },
  });
}

beforeAll(async () => {
  if ('skip' in claude) return;
  server = await startPluginServer('plugins-claude-marketplace');
  people = await users(randomBytes(3).toString('hex'));
  for (const [department, name] of [
    [people.research, names.research],
    [people.sales, names.sales],
  ] as const) {
    const published = await publishSample(actorOf(people.author), { name, version: '1.0.0' });
    await approveVersion(actorOf(people.admin), published.versionId, 'ok');
    await entitle(actorOf(people.admin), name, { kind: 'department', value: department });
  }
  front = await startLoopbackTlsServer(forwardTo(server.url), { hostname: HOST });
  proxy = await startConnectProxy({ [`${HOST}:443`]: Number(new URL(front.url).port) });
  demo = await startDemoUpstream({ port: 0 });
  // Claude Code records a declared marketplace in the background of a session: the model's answer
  // (which ends a `-p` session) is held until it is recorded, however slow the machine is.
  const toDemo = forwardTo(demo.url);
  model = createServer((req, res) => {
    void (async () => {
      for (const deadline = Date.now() + 60_000; !holdAnswersUntil() && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 100));
      toDemo(req, res);
    })();
  });
  await new Promise<void>((resolve) => model.listen(0, '127.0.0.1', resolve));
  modelUrl = `http://127.0.0.1:${(model.address() as AddressInfo).port}`;
  scratch = mkdtempSync(path.join(tmpdir(), 'gatehouse-claude-marketplace-'));
  writeFileSync(path.join(scratch, 'ca.pem'), front.certificate);
  // Addresses, token audiences and archive URLs now name the https origin Claude Code sees.
  servePublicly(ORIGIN);
}, 120_000);

afterAll(async () => {
  model?.closeAllConnections();
  await Promise.all([server?.close(), front?.close(), proxy?.close(), demo?.close(), model && new Promise((resolve) => model.close(resolve))]);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the per-user marketplace in Claude Code', () => {
  it.skipIf('skip' in claude)('installs an entitled plugin from the ZIP Gatehouse serves, with the helper’s credential, and not another department’s', async () => {
    const home = path.join(scratch, 'home');
    mkdirSync(path.join(home, '.claude'), { recursive: true });
    const token = (await mintAccessToken({ email: people.researcher.email, issuer: ORIGIN })).accessToken;
    // Stands in for `gatehouse-helper headers`: prints the Authorization header as JSON.
    const helper = path.join(scratch, 'headers-helper.sh');
    writeFileSync(path.join(scratch, 'headers.json'), JSON.stringify({ Authorization: `Bearer ${token}` }));
    writeFileSync(helper, `#!/bin/sh\ncat '${path.join(scratch, 'headers.json')}'\n`);
    chmodSync(helper, 0o755);
    const slug = (await tenantSlug(people.researcher.tenantId)) ?? 'org';
    const marketplace = marketplaceName(slug);
    writeFileSync(path.join(home, '.claude', 'settings.json'), JSON.stringify({ extraKnownMarketplaces: claudeCodeMarketplaceDeclaration({ origin: ORIGIN, tenantSlug: slug, headersHelper: helper }) }));

    // A session start records the declared marketplace (fetched with the helper's header).
    const known = path.join(home, '.claude', 'plugins', 'known_marketplaces.json');
    holdAnswersUntil = () => {
      try {
        const location = (JSON.parse(readFileSync(known, 'utf8')) as Record<string, { installLocation?: string }>)[marketplace]?.installLocation;
        return location !== undefined && existsSync(location);
      } catch {
        return false;
      }
    };
    const session = await runClaude(home, ['-p', 'hello', '--model', 'claude-sonnet-4-5']);
    expect(session.code, session.stderr).toBe(0);
    expect(session.stdout).toContain('demo upstream');
    expect(JSON.parse(readFileSync(known, 'utf8'))).toHaveProperty(marketplace);

    const installed = await runClaude(home, ['plugin', 'install', `${names.research}@${marketplace}`]);
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    const root = path.join(home, '.claude', 'plugins', 'cache', marketplace, names.research, '1.0.0');
    const sample = samplePluginFiles({ name: names.research, version: '1.0.0' });
    for (const file of ['.claude-plugin/plugin.json', 'commands/greet.md', 'skills/hello/SKILL.md']) {
      expect(readFileSync(path.join(root, file), 'utf8'), file).toBe(sample[file]);
    }
    expect(archiveCallers).toEqual([`Bearer ${token}`]);

    // Another department's plugin is not in this user's marketplace, so it cannot be installed.
    const refused = await runClaude(home, ['plugin', 'install', `${names.sales}@${marketplace}`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain(`"${names.sales}" not found in marketplace`);
    expect(existsSync(path.join(home, '.claude', 'plugins', 'cache', marketplace, names.sales))).toBe(false);
    // Nothing left the machine: the only tunnel asked for that went anywhere is the gateway's.
    expect(new Set(proxy.targets.filter((target) => target === `${HOST}:443`)).size).toBe(1);
  }, 240_000);
});
