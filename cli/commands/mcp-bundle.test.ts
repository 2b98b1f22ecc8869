import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'plist';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureTestEnvironment } from '@/lib/oauth/test-harness';
import { writeZip } from '@/lib/plugins/zip';

const exec = promisify(execFile);

// The real `gatehouse` launcher, end to end, against the run's database.
async function gatehouse(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['cli/gatehouse.mjs', ...args], { env: process.env });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

let folder: string;
const file = (name: string) => path.join(folder, name);

beforeAll(() => {
  configureTestEnvironment();
  folder = mkdtempSync(path.join(tmpdir(), 'gatehouse-cli-mcpb-'));
  const manifest = { manifest_version: '0.2', name: 'cli-notes', version: '0.1.0', description: 'Notes', author: { name: 'IT' }, server: { type: 'node', entry_point: 'index.js', mcp_config: { command: 'node', args: ['${__dirname}/index.js'] } } };
  writeFileSync(file('notes.mcpb'), writeZip([{ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, { name: 'index.js', data: Buffer.from('// server\n') }]));
  writeFileSync(file('broken.mcpb'), writeZip([{ name: 'manifest.json', data: Buffer.from(JSON.stringify({ ...manifest, description: '', server: { ...manifest.server, entry_point: 'main.js' } })) }]));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('gatehouse mcp bundle', () => {
  it('signs a bundle, verifies it against the organisation CA (and against the exported CA file), and rejects a changed byte', async () => {
    const signed = await gatehouse('mcp', 'bundle', 'sign', file('notes.mcpb'), '--out', file('notes.signed.mcpb'));
    expect(signed.stderr).toBe('');
    expect(signed.code).toBe(0);
    expect(signed.stdout).toMatch(/^signed cli-notes 0\.1\.0 \(manifest 0\.2, 2 files\) with code-signing certificate [0-9A-F]+\nwrote .*notes\.signed\.mcpb/);

    const verified = await gatehouse('mcp', 'bundle', 'verify', file('notes.signed.mcpb'));
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('verified: signed by');

    expect((await gatehouse('mcp', 'bundle', 'ca', '--out', file('ca.pem'))).code).toBe(0);
    expect(new X509Certificate(readFileSync(file('ca.pem'))).ca).toBe(true);
    expect((await gatehouse('mcp', 'bundle', 'verify', file('notes.signed.mcpb'), '--ca', file('ca.pem'))).code).toBe(0);

    const tampered = readFileSync(file('notes.signed.mcpb'));
    tampered[50] = tampered[50]! ^ 0xff;
    writeFileSync(file('tampered.mcpb'), tampered);
    const refused = await gatehouse('mcp', 'bundle', 'verify', file('tampered.mcpb'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('NOT VERIFIED (content_modified)');
  }, 180_000);

  it('refuses a bad bundle with one line per problem, and a signed one', async () => {
    const broken = await gatehouse('mcp', 'bundle', 'sign', file('broken.mcpb'), '--out', file('never.mcpb'));
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('broken.mcpb: description: must be a non-empty string\n');
    expect(broken.stderr).toContain('broken.mcpb: server.entry_point: "main.js" is not a file in the bundle\n');
    expect(broken.stderr).toContain('gatehouse: not signed: 2 problems');
    const twice = await gatehouse('mcp', 'bundle', 'sign', file('notes.signed.mcpb'), '--out', file('never.mcpb'));
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('bundle: is already signed');
  }, 60_000);

  it('puts the organisation CA into the macOS profile on request', async () => {
    expect((await gatehouse('mdm', 'macos', '--extension-ca', '--out', file('profile.mobileconfig'))).code).toBe(0);
    const profile = parse(readFileSync(file('profile.mobileconfig'), 'utf8')) as { PayloadContent: Record<string, unknown>[] };
    const root = profile.PayloadContent.find((payload) => payload.PayloadType === 'com.apple.security.root');
    expect(Buffer.from(root!.PayloadContent as Uint8Array).equals(new X509Certificate(readFileSync(file('ca.pem'))).raw)).toBe(true);
    expect(profile.PayloadContent[0]!.isDesktopExtensionSignatureRequired).toBe('true');
    const windows = await gatehouse('mdm', 'windows', '--extension-ca', '--out', file('x.reg'));
    expect(windows.code).toBe(2);
    expect(windows.stderr).toContain('--extension-ca is for the macOS profile');
  }, 60_000);
});
