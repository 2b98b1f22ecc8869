// Device rollout files and endpoints (issue 13): every Desktop value a string of the key's type,
// the .mobileconfig read back with the plist package, the .reg read back by a strict reader,
// Claude Code's managed settings, the bootstrap overlay and the stale-machine report, against a
// live gateway on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { quoteFor } from '@/lib/platform/shell';
import { helperInstallSteps, launchdAgent, taskSchedulerXml, windowsLauncher } from './install';
import { parse } from 'plist';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marketplaceName } from '@/lib/plugins/marketplace-manifest';
import { pool } from '@/lib/db/client';
import { startGateway, tokenFor, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { drainBackgroundTasks } from '@/lib/platform/background';
import { isRecord } from '@/lib/platform/json';
import { generateArtifact } from './artifacts';
import { claudeCodeManagedSettings, claudeCodeSettingsChecksum, CLAUDE_CODE_SETTINGS_KEYS } from './claude-code';
import { rolloutContext } from './context';
import { DESKTOP_POLICY_KEYS } from './desktop-keys';
import { encodeDesktopValue } from './encode';
import { MdmError } from './errors';
import { machineSettingsStates } from './checksums';
import { installFile } from './install-files';
import { mcpResource } from '@/lib/mcp/resource';
import { organisationCaPem } from '@/lib/mcpb';
import { loadRolloutSettings, saveRolloutSettings, validateRolloutSettings } from './settings';

const TEST_CA = `-----BEGIN CERTIFICATE-----
MIIBbTCCARKgAwIBAgIUDkX1n5mV3V0p8bU9m3oZ2m7sJ2wwCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHVGVzdCBDQTAeFw0yNjExMjgwMDAwMDBaFw0zNjExMjgwMDAw
MDBaMBIxEDAOBgNVBAMMB1Rlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AAQ7b0mD8n9y6xWc2uW9xkQnq0bq4iM8L3Ue0m7z4yM2gk7y1eR2rS2b4ZpJ4r2k
-----END CERTIFICATE-----`;

let gateway: GatewayHarness;
let admin: UserIdentity;

/** Whether a stored string is what Desktop's validator for `key` accepts. */
function matchesKeyType(key: string, value: unknown): boolean {
  const spec = DESKTOP_POLICY_KEYS[key];
  if (!spec || typeof value !== 'string') return false;
  switch (spec.kind) {
    case 'boolean':
      return value === 'true' || value === 'false';
    case 'integer':
      return /^-?\d+$/.test(value);
    case 'enum':
      return spec.values!.includes(value);
    case 'string':
      return value.length > 0;
    case 'json-array':
      return Array.isArray(JSON.parse(value));
    case 'json-object':
      return isRecord(JSON.parse(value));
  }
}

/**
 * A strict .reg reader: UTF-16 LE with BOM, the version 5 header, one key, and only REG_SZ values
 * (quoted strings or hex(1)); anything else is an error.
 */
function readRegFile(body: Buffer): { key: string; values: Record<string, string> } {
  if (body[0] !== 0xff || body[1] !== 0xfe) throw new Error('no UTF-16 LE byte-order mark');
  const text = body.subarray(2).toString('utf16le');
  if (!text.endsWith('\r\n') || /[^\r]\n/.test(text)) throw new Error('lines must end in CRLF');
  const lines = text.slice(0, -2).split('\r\n');
  if (lines[0] !== 'Windows Registry Editor Version 5.00' || lines[1] !== '') throw new Error(`bad header: ${lines[0]}`);
  const key = /^\[(HKEY_[A-Z_]+\\[^\]]+)\]$/.exec(lines[2] ?? '')?.[1];
  if (!key) throw new Error(`bad key line: ${lines[2]}`);
  const values: Record<string, string> = {};
  for (const line of lines.slice(3)) {
    const quoted = /^"((?:[^"\\]|\\.)*)"="((?:[^"\\]|\\.)*)"$/.exec(line);
    const hex = /^"((?:[^"\\]|\\.)*)"=hex\(1\):([0-9a-f]{2}(?:,[0-9a-f]{2})*)$/.exec(line);
    const unescape = (s: string) => s.replace(/\\(.)/g, '$1');
    if (quoted) values[unescape(quoted[1]!)] = unescape(quoted[2]!);
    else if (hex) {
      const bytes = Buffer.from(hex[2]!.split(',').map((b) => parseInt(b, 16)));
      const decoded = bytes.toString('utf16le');
      if (!decoded.endsWith('\0')) throw new Error('hex(1) value without terminating NUL');
      values[unescape(hex[1]!)] = decoded.slice(0, -1);
    } else throw new Error(`not a REG_SZ value line: ${line}`);
  }
  return { key, values };
}

beforeAll(async () => {
  gateway = await startGateway(
    `
providers:
  fake: { type: anthropic, base_url: http://127.0.0.1:9, max_retries: 0 }
gateway:
  default_model: claude-sonnet-4-5
models:
  claude-haiku-4-5: { targets: [{ provider: fake, model: h }] }
  claude-sonnet-4-5: { targets: [{ provider: fake, model: s }] }
managed_settings:
  - settings:
      env: { CLAUDE_CODE_ENABLE_TELEMETRY: "1" }
      permissions: { deny: ["Read(./.env)"] }
`,
    'mdm',
  );
  admin = await createTestUser(['admin']);
}, 120_000);

afterAll(async () => {
  await gateway?.close();
});

describe('Desktop values', () => {
  it('encodes every value as a string of the key’s type and refuses unknown keys and wrong types', () => {
    expect(encodeDesktopValue('disableDeploymentModeChooser', true)).toBe('true');
    expect(encodeDesktopValue('inferenceCredentialHelperTtlSec', 780)).toBe('780');
    expect(encodeDesktopValue('inferenceCredentialHelperTtlSec', '900')).toBe('900');
    expect(encodeDesktopValue('inferenceModels', ['a', 'b'])).toBe('["a","b"]');
    expect(encodeDesktopValue('inferenceCustomHeaders', '{"x-org":"acme"}')).toBe('{"x-org":"acme"}');
    expect(encodeDesktopValue('inferenceGatewayAuthScheme', 'bearer')).toBe('bearer');
    for (const [key, value] of [
      ['inferenceProviderr', 'gateway'],
      ['disableDeploymentModeChooser', 'yes'],
      ['inferenceCredentialHelperTtlSec', '15m'],
      ['inferenceGatewayAuthScheme', 'basic'],
      ['inferenceModels', '{"not":"a list"}'],
      ['inferenceCustomHeaders', 'x-org: acme'],
    ] as const) {
      expect(() => encodeDesktopValue(key, value), key).toThrow(MdmError);
    }
  });

  it('validates the Rollout page settings and saves them as versions', async () => {
    expect(() => validateRolloutSettings({ gatewayUrl: 'http://gw.example.com' })).toThrow(/https/);
    expect(() => validateRolloutSettings({ extraDesktopKeys: { madeUpKey: 'x' } })).toThrow(/no Claude Desktop managed-configuration key named madeUpKey/);
    expect(() => validateRolloutSettings({ extraDesktopKeys: { isLocalDevMcpEnabled: 'maybe' } })).toThrow(/true or false/);
    expect(() => validateRolloutSettings({ helperPath: 'gatehouse-helper' })).toThrow(/absolute/);
    expect(() => validateRolloutSettings({ nodePath: 'node' })).toThrow(/Node path must be an absolute path/);
    expect(validateRolloutSettings({}).nodePath).toBe('/usr/local/bin/node');
    // A trailing backslash would escape the closing double quote: "C:\Tools\".
    expect(() => validateRolloutSettings({ helperPathWindows: 'C:\\Tools\\' })).toThrow(/Windows helper path/);
    expect(() => validateRolloutSettings({ nodePathWindows: 'C:\\nodejs\\' })).toThrow(/Windows Node path/);
    expect(() => quoteFor('windows', 'C:\\Tools\\')).toThrow(/ends in a backslash/);
    // The Windows path goes inside single-quoted PowerShell strings (install steps, Task Scheduler).
    expect(() => validateRolloutSettings({ helperPathWindows: "C:\\Users\\O'Brien\\gatehouse-helper.cmd" })).toThrow(/Windows helper path/);
    // …and inside double quotes in Claude Code's settings, run by cmd.exe, PowerShell or Git Bash.
    for (const helperPathWindows of ['C:\\Tools$x\\gatehouse-helper.cmd', 'C:\\Tools!x!\\gatehouse-helper.cmd', 'C:\\Tools`x\\gatehouse-helper.cmd']) {
      expect(() => validateRolloutSettings({ helperPathWindows }), helperPathWindows).toThrow(/Windows helper path/);
    }
    // The gateway's host goes on command lines: a name or an address, nothing a shell reads.
    expect(new URL('https://a$(id)b.example').origin).toBe('https://a$(id)b.example');
    for (const gatewayUrl of ['https://a$(id)b.example', 'https://a`id`b.example', "https://a'b.example", 'https://[::1]']) {
      expect(() => validateRolloutSettings({ gatewayUrl }), gatewayUrl).toThrow(/host may hold only letters, digits, dots and hyphens/);
    }
    expect(validateRolloutSettings({ gatewayUrl: 'https://gw-1.example.com:8443' }).gatewayUrl).toBe('https://gw-1.example.com:8443');
    expect(() => validateRolloutSettings({ extensionSigningCaPem: 'not a cert' })).toThrow(/PEM/);
    const settings = validateRolloutSettings({ gatewayUrl: 'https://gw.example.com/ignored/path', extraDesktopKeys: { mcpToolTimeoutSec: 600 } });
    expect(settings.gatewayUrl).toBe('https://gw.example.com');

    const tenantId = admin.tenantId;
    const before = await loadRolloutSettings(tenantId);
    const version = await saveRolloutSettings(tenantId, settings, before.version, admin.userId);
    expect(version).toBe(before.version + 1);
    await expect(saveRolloutSettings(tenantId, settings, before.version, admin.userId)).rejects.toThrow(/someone else saved/);
    expect((await loadRolloutSettings(tenantId)).settings.gatewayUrl).toBe('https://gw.example.com');
    await saveRolloutSettings(tenantId, validateRolloutSettings({}), version, admin.userId);
  });
});

describe('Claude Desktop profiles', () => {
  it('writes a .mobileconfig the plist package reads back, every value a string of its key’s type, with stable identifiers', async () => {
    const settings = validateRolloutSettings({ gatewayUrl: 'https://gw.example.com', organizationInstructions: 'Cite sources.\nNo secrets.', extensionSigningCaPem: TEST_CA });
    const context = await rolloutContext(admin.tenantId, { settings });
    const first = await generateArtifact(context, 'desktop-mobileconfig');
    const profile = parse(first.body.toString('utf8')) as Record<string, unknown>;
    expect(profile).toMatchObject({ PayloadType: 'Configuration', PayloadVersion: 1, PayloadScope: 'System' });
    const [desktop, ca] = profile.PayloadContent as Record<string, unknown>[];
    expect(desktop).toMatchObject({ PayloadType: 'com.anthropic.claudefordesktop', PayloadVersion: 1 });
    expect(desktop!.PayloadUUID).toMatch(/^[0-9A-F-]{36}$/);
    const policy = Object.fromEntries(Object.entries(desktop!).filter(([key]) => !key.startsWith('Payload')));
    for (const [key, value] of Object.entries(policy)) expect(matchesKeyType(key, value), `${key}=${String(value)}`).toBe(true);
    expect(policy).toMatchObject({
      inferenceProvider: 'gateway',
      inferenceGatewayBaseUrl: 'https://gw.example.com',
      inferenceGatewayAuthScheme: 'bearer',
      inferenceCredentialHelper: '/usr/local/bin/gatehouse-helper',
      disableDeploymentModeChooser: 'true',
      isLocalDevMcpEnabled: 'false',
      isDesktopExtensionSignatureRequired: 'true',
      otlpEndpoint: 'https://gw.example.com',
      otlpProtocol: 'http/protobuf',
      otlpAuthMode: 'inference-credential',
      organizationInstructions: 'Cite sources.\nNo secrets.',
    });
    expect(JSON.parse(policy.inferenceModels as string)).toEqual(['claude-sonnet-4-5', 'claude-haiku-4-5']);
    expect(JSON.parse(policy.allowedPluginMarketplaces as string)).toEqual([expect.objectContaining({ source: 'url', url: 'https://gw.example.com/marketplace.json', credentialKind: 'inferenceCredential' })]);
    // The MCP resource (its tokens' audience), not the gateway URL: tokens are issued only for the issuer's origin.
    // (Other test files register organisation-wide MCP servers in the same tenant: those may be listed too.)
    expect(JSON.parse(policy.managedMcpServers as string)).toEqual(expect.arrayContaining([{ name: 'gatehouse-skills', transport: 'http', url: mcpResource(), oauth: true }]));
    expect(JSON.parse(policy.inferenceCredentialHelperArgs as string)).toEqual(['--server', 'https://gw.example.com', '--format', 'json']);
    expect(ca).toMatchObject({ PayloadType: 'com.apple.security.root' });
    expect(Buffer.from(ca!.PayloadContent as Uint8Array).toString('base64')).toBe(TEST_CA.replace(/-----[A-Z ]+-----|\s/g, ''));

    const again = parse((await generateArtifact(context, 'desktop-mobileconfig')).body.toString('utf8')) as Record<string, unknown>;
    expect(again.PayloadUUID).toBe(profile.PayloadUUID);
    expect((again.PayloadContent as Record<string, unknown>[])[0]!.PayloadUUID).toBe(desktop!.PayloadUUID);
  });

  it('can carry the organisation’s desktop-extension CA as a trusted root, and then requires signed extensions', async () => {
    // An administrator who switched signatures off on the page gets them required once the profile trusts the CA.
    const settings = validateRolloutSettings({ extensionSigningCaPem: TEST_CA, extraDesktopKeys: { isDesktopExtensionSignatureRequired: false } });
    const context = await rolloutContext(admin.tenantId, { settings });
    const without = parse((await generateArtifact(context, 'desktop-mobileconfig')).body.toString('utf8')) as Record<string, unknown>;
    expect((without.PayloadContent as Record<string, unknown>[])[0]!.isDesktopExtensionSignatureRequired).toBe('true');

    const plain = parse((await generateArtifact(await rolloutContext(admin.tenantId, { settings: validateRolloutSettings({ extraDesktopKeys: { isDesktopExtensionSignatureRequired: false } }) }), 'desktop-mobileconfig')).body.toString('utf8')) as Record<string, unknown>;
    expect(plain.PayloadContent as Record<string, unknown>[]).toHaveLength(1);
    expect((plain.PayloadContent as Record<string, unknown>[])[0]!.isDesktopExtensionSignatureRequired).toBe('false');

    const artifact = await generateArtifact(context, 'desktop-mobileconfig', { organisationExtensionCa: true });
    expect(artifact.filename).toMatch(/-with-extension-ca\.mobileconfig$/);
    const profile = parse(artifact.body.toString('utf8')) as Record<string, unknown>;
    const [desktop, ...roots] = profile.PayloadContent as Record<string, unknown>[];
    expect(desktop!.isDesktopExtensionSignatureRequired).toBe('true');
    const organisationDer = new X509Certificate(await organisationCaPem()).raw;
    expect(roots.map((root) => root.PayloadType)).toEqual(['com.apple.security.root', 'com.apple.security.root']);
    expect(Buffer.from(roots[0]!.PayloadContent as Uint8Array).equals(organisationDer)).toBe(true);
    expect(Buffer.from(roots[1]!.PayloadContent as Uint8Array).toString('base64')).toBe(TEST_CA.replace(/-----[A-Z ]+-----|\s/g, ''));
    expect(new Set(roots.map((root) => root.PayloadIdentifier)).size).toBe(2);
    expect(new Set(roots.map((root) => root.PayloadUUID)).size).toBe(2);
    // The certificate installed is the CA itself: a root that may sign certificates.
    expect(new X509Certificate(organisationDer).ca).toBe(true);
  });

  it('writes .reg files that a strict reader reads back as REG_SZ values equal to the profile’s', async () => {
    const settings = validateRolloutSettings({ gatewayUrl: 'https://gw.example.com', organizationInstructions: 'Line one.\nLine "two".' });
    const context = await rolloutContext(admin.tenantId, { settings });
    const profile = parse((await generateArtifact(context, 'desktop-mobileconfig')).body.toString('utf8')) as Record<string, unknown>;
    const expected = Object.fromEntries(Object.entries((profile.PayloadContent as Record<string, unknown>[])[0]!).filter(([key]) => !key.startsWith('Payload')));
    for (const [kind, key] of [
      ['desktop-reg-hkcu', 'HKEY_CURRENT_USER\\SOFTWARE\\Policies\\Claude'],
      ['desktop-reg-hklm', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Claude'],
    ] as const) {
      const reg = readRegFile((await generateArtifact(context, kind)).body);
      expect(reg.key).toBe(key);
      expect(reg.values).toEqual(expected);
    }
  });
});

describe('Claude Code managed settings', () => {
  it('signs in through the gateway, or uses the helper with the gateway URL and attribution headers', async () => {
    const gatewaySignIn = claudeCodeManagedSettings(await rolloutContext(admin.tenantId, { settings: validateRolloutSettings({ gatewayUrl: 'https://gw.example.com' }) }));
    expect(gatewaySignIn).toMatchObject({ forceLoginMethod: 'gateway', forceLoginGatewayUrl: 'https://gw.example.com', model: 'claude-sonnet-4-5', availableModels: ['claude-sonnet-4-5', 'claude-haiku-4-5'], permissions: { deny: ['Read(./.env)'] } });
    expect(gatewaySignIn.env).toMatchObject({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', CLAUDE_CODE_ENABLE_TELEMETRY: '1', CLAUDE_CODE_GATEWAY_HINT_HEADERS: '1' });
    expect(gatewaySignIn.apiKeyHelper).toBeUndefined();

    const helperContext = await rolloutContext(admin.tenantId, { settings: validateRolloutSettings({ gatewayUrl: 'https://gw.example.com', claudeCodeSignIn: 'helper' }) });
    const helper = claudeCodeManagedSettings(helperContext);
    expect(helper.apiKeyHelper).toBe("/usr/bin/env -u NODE_OPTIONS -u NODE_TLS_REJECT_UNAUTHORIZED -u NODE_EXTRA_CA_CERTS -u NODE_PATH '/usr/local/bin/node' '/usr/local/bin/gatehouse-helper' --server 'https://gw.example.com'");
    expect(helper.otelHeadersHelper).toBe("/usr/bin/env -u NODE_OPTIONS -u NODE_TLS_REJECT_UNAUTHORIZED -u NODE_EXTRA_CA_CERTS -u NODE_PATH '/usr/local/bin/node' '/usr/local/bin/gatehouse-helper' otel-headers --server 'https://gw.example.com'");
    expect(helper.env).toMatchObject({ ANTHROPIC_BASE_URL: 'https://gw.example.com', ANTHROPIC_CUSTOM_HEADERS: `x-tenant-id: ${admin.tenantId}\nx-call-source: claude_code` });
    expect(helper.forceLoginMethod).toBeUndefined();
    // The per-user plugin marketplace, declared with the helper printing its Authorization header.
    expect(helper.extraKnownMarketplaces).toEqual({
      [marketplaceName(helperContext.tenant.slug)]: {
        source: { source: 'url', url: 'https://gw.example.com/marketplace.json', headersHelper: "/usr/bin/env -u NODE_OPTIONS -u NODE_TLS_REJECT_UNAUTHORIZED -u NODE_EXTRA_CA_CERTS -u NODE_PATH '/usr/local/bin/node' '/usr/local/bin/gatehouse-helper' headers --server 'https://gw.example.com'" },
      },
    });
    expect(gatewaySignIn.extraKnownMarketplaces).toBeUndefined();
    for (const settings of [gatewaySignIn, helper]) for (const key of Object.keys(settings)) expect(CLAUDE_CODE_SETTINGS_KEYS.has(key), key).toBe(true);
  });

  it('writes the registry form as one JSON string in Settings', async () => {
    const context = await rolloutContext(admin.tenantId, { settings: validateRolloutSettings({}) });
    const reg = readRegFile((await generateArtifact(context, 'claude-code-reg-hklm')).body);
    expect(reg.key).toBe('HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\ClaudeCode');
    expect(JSON.parse(reg.values.Settings!)).toEqual(claudeCodeManagedSettings(context, 'windows'));
  });

  it('runs the Windows helper path, double-quoted, in the registry form: the key helpers and every hook', async () => {
    const helperPathWindows = 'C:\\Program Files\\Gatehouse\\gatehouse-helper.cmd';
    const settings = validateRolloutSettings({ gatewayUrl: 'https://gw.example.com', claudeCodeSignIn: 'helper', claudeCodeGovernanceHooks: 'on', helperPathWindows });
    const context = await rolloutContext(admin.tenantId, { settings });
    const windows = JSON.parse(readRegFile((await generateArtifact(context, 'claude-code-reg-hklm')).body).values.Settings!) as Record<string, unknown>;
    const helper = `"${helperPathWindows}"`;
    expect(windows.apiKeyHelper).toBe(`${helper} --server "https://gw.example.com"`);
    expect(windows.otelHeadersHelper).toBe(`${helper} otel-headers --server "https://gw.example.com"`);
    expect(JSON.stringify(windows.extraKnownMarketplaces)).toContain(JSON.stringify(`${helper} headers --server "https://gw.example.com"`));
    const commands = Object.values(windows.hooks as Record<string, { hooks: { command: string }[] }[]>).flatMap((entries) => entries.flatMap((entry) => entry.hooks.map((hook) => hook.command)));
    expect(commands.length).toBeGreaterThanOrEqual(5);
    for (const command of commands) expect(command.startsWith(`${helper} hook `), command).toBe(true);
    // Nothing of the POSIX path reaches Windows machines, nor the Windows path the others.
    expect(JSON.stringify(windows)).not.toContain(settings.helperPath);
    const posix = JSON.parse((await generateArtifact(context, 'claude-code-json')).body.toString('utf8')) as Record<string, unknown>;
    expect(JSON.stringify(posix)).not.toContain('gatehouse-helper.cmd');
    const node = `/usr/bin/env -u NODE_OPTIONS -u NODE_TLS_REJECT_UNAUTHORIZED -u NODE_EXTRA_CA_CERTS -u NODE_PATH '${settings.nodePath}'`;
    expect(posix.apiKeyHelper).toBe(`${node} '${settings.helperPath}' --server 'https://gw.example.com'`);
    const posixCommands = Object.values(posix.hooks as Record<string, { hooks: { command: string }[] }[]>).flatMap((entries) => entries.flatMap((entry) => entry.hooks.map((hook) => hook.command)));
    for (const command of posixCommands) expect(command.startsWith(`${node} '${settings.helperPath}' hook `), command).toBe(true);
  });

  it('runs the helper with the administrator’s Node: a node on PATH or NODE_OPTIONS=--require cannot change what a hook prints', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-node-'));
    try {
      // The helper as installed before: `#!/usr/bin/env node`, executable; it prints a refusal.
      const helper = path.join(dir, 'gatehouse-helper');
      writeFileSync(helper, '#!/usr/bin/env node\nprocess.stdout.write(JSON.stringify({ decision: "deny", argv: process.argv.slice(2) }));\n', { mode: 0o755 });
      const evil = path.join(dir, 'evil.cjs');
      writeFileSync(evil, 'process.stdout.write("{\\"decision\\":\\"allow\\"}"); process.exit(0);\n');
      const fakeBin = path.join(dir, 'bin');
      mkdirSync(fakeBin);
      writeFileSync(path.join(fakeBin, 'node'), '#!/bin/sh\nprintf \'{"decision":"allow"}\'\n', { mode: 0o755 });
      const settings = validateRolloutSettings({ gatewayUrl: 'https://gw.example.com', claudeCodeSignIn: 'helper', claudeCodeGovernanceHooks: 'on', helperPath: helper, nodePath: process.execPath });
      const posix = claudeCodeManagedSettings(await rolloutContext(admin.tenantId, { settings }));
      const command = (posix.hooks as Record<string, { hooks: { command: string }[] }[]>).PreToolUse![0]!.hooks[0]!.command;
      const run = (line: string, env: Record<string, string>) => execFileSync('/bin/sh', ['-c', line], { env: { HOME: dir, PATH: '/usr/bin:/bin', NODE_ENV: 'test', ...env }, input: '{}' }).toString('utf8');
      const hostile = { PATH: `${fakeBin}:/usr/bin:/bin`, NODE_OPTIONS: `--require ${evil}` };
      const honest = run(command, {});
      expect(JSON.parse(honest).decision).toBe('deny');
      expect(run(command, hostile)).toBe(honest);
      expect(run(`${command.slice(command.indexOf(`'${helper}'`))}`, hostile), 'the helper run by its own shebang, as before').toBe('{"decision":"allow"}');
      // The sync agent's schedule and the install step use the same Node.
      expect(launchdAgent(await rolloutContext(admin.tenantId, { settings }), 'acme')).toContain(`exec /usr/bin/env -u NODE_OPTIONS -u NODE_TLS_REJECT_UNAUTHORIZED -u NODE_EXTRA_CA_CERTS -u NODE_PATH '${process.execPath}'`);
      expect(helperInstallSteps(await rolloutContext(admin.tenantId, { settings })).linux).toContain(`sed '1s|.*|#!${process.execPath}|' gatehouse-helper`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts the Windows helper and sync task with the configured node.exe, NODE_OPTIONS cleared', async () => {
    const settings = validateRolloutSettings({ nodePathWindows: 'D:\\Node\\node.exe' });
    const context = await rolloutContext(admin.tenantId, { settings });
    const launcher = windowsLauncher(context).split('\r\n');
    expect(launcher).toContain('set NODE_OPTIONS=');
    expect(launcher.at(-2)).toBe('"D:\\Node\\node.exe" "%~dp0gatehouse-helper.cjs" %*');
    expect(launcher.indexOf('set NODE_OPTIONS=')).toBeLessThan(launcher.length - 2);
    const task = taskSchedulerXml(context);
    expect(task).toContain("$env:NODE_OPTIONS = $null;");
    expect(task).toContain("&amp; 'D:\\Node\\node.exe' ");
    expect(task).not.toMatch(/; node /);
  });
});

describe('rollout downloads', () => {
  it('audits every download, the install files included', async () => {
    const actor = { userId: admin.userId, tenantId: admin.tenantId, email: admin.email, roles: ['admin'] };
    const file = await installFile(actor, 'gatehouse-sync.service');
    expect(file.body.toString('utf8')).toContain('ExecStart=');
    const { rows } = await pool().query(`SELECT 1 FROM audit_events WHERE action = 'rollout.download' AND actor_user_id = $1 AND event->'attributes'->>'file' = $2`, [admin.userId, file.filename]);
    expect(rows).toHaveLength(1);
  });
});

describe('endpoints on a live gateway', () => {
  it('serves the per-user bootstrap overlay with the person’s credential only', async () => {
    const member = await createTestUser(['member']);
    expect((await fetch(`${gateway.url}/api/v1/bootstrap`)).status).toBe(401);
    const response = await fetch(`${gateway.url}/api/v1/bootstrap`, { headers: { authorization: `Bearer ${await tokenFor(gateway, member)}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toMatch(/private/);
    const overlay = (await response.json()) as Record<string, unknown>;
    expect(overlay).toMatchObject({ $schemaVersion: 1, inferenceProvider: 'gateway', inferenceGatewayBaseUrl: gateway.url, modelDiscoveryEnabled: true, disableDeploymentModeChooser: true });
    expect(overlay.expiresAt).toBeGreaterThan(Date.now() / 1000);
    for (const key of ['otlpEndpoint', 'otlpProtocol', 'inferenceModels', 'bootstrapUrl']) expect(overlay).not.toHaveProperty(key);
    for (const key of Object.keys(overlay).filter((k) => !k.startsWith('$') && k !== 'expiresAt')) expect(DESKTOP_POLICY_KEYS[key], key).toBeDefined();
  });

  it('finds Claude Code sessions running outdated or no managed settings', async () => {
    const user = await createTestUser(['member']);
    const token = await tokenFor(gateway, user);
    const served = await fetch(`${gateway.url}/managed/settings`, { headers: { authorization: `Bearer ${token}` } });
    expect(served.status).toBe(200);
    const { checksum } = (await served.json()) as { checksum: string };
    const fileChecksum = claudeCodeSettingsChecksum(claudeCodeManagedSettings(await rolloutContext(admin.tenantId)));
    await generateArtifact(await rolloutContext(admin.tenantId), 'claude-code-json');

    const session = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;
    const sessions = { current: session('current'), file: session('file'), outdated: session('outdated'), unmanaged: session('unmanaged') };
    const report = (sessionId: string, sent?: string) =>
      fetch(`${gateway.url}/v1/models`, {
        headers: {
          authorization: `Bearer ${token}`,
          'user-agent': 'claude-cli/2.1.332 (external, cli)',
          'x-claude-code-session-id': sessionId,
          ...(sent ? { 'x-claude-code-managed-settings-checksum': sent } : {}),
        },
      });
    await report(sessions.current, checksum);
    await report(sessions.file, fileChecksum);
    await report(sessions.outdated, `sha256:${'0'.repeat(64)}`);
    await report(sessions.unmanaged);
    await drainBackgroundTasks();

    const states = Object.fromEntries((await machineSettingsStates(user.tenantId)).filter((row) => row.userId === user.userId).map((row) => [row.sessionKey, row.state]));
    expect(states).toEqual({ [sessions.current]: 'current', [sessions.file]: 'current', [sessions.outdated]: 'outdated', [sessions.unmanaged]: 'unmanaged' });

    // A newer generated file replaces the old one; the old value stays current for an hour.
    await pool().query(`UPDATE managed_settings_checksums SET first_issued_at = now() - interval '3 hours', last_issued_at = now() - interval '3 hours' WHERE checksum = $1`, [fileChecksum]);
    await pool().query(`INSERT INTO managed_settings_checksums (tenant_id, checksum, source, first_issued_at, last_issued_at) VALUES ($1, $2, 'file', now() - interval '2 hours', now() - interval '2 hours')`, [
      user.tenantId,
      `sha256:${randomBytes(32).toString('hex')}`,
    ]);
    const later = (await machineSettingsStates(user.tenantId)).find((row) => row.sessionKey === sessions.file);
    expect(later?.state).toBe('outdated');
  });
});
