// Signed desktop extensions (issue 12, item 7): bundle validation with per-field errors, signing by
// the organisation's code-signing certificate in the MCPB format, and verification both by OpenSSL
// (an independent CMS implementation, checking the chain to the organisation CA) and by lib/mcpb's
// verifier, which must also tell each kind of failure apart.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { pool } from '@/lib/db/client';
import { configureTestEnvironment } from '@/lib/oauth/test-harness';
import { writeZip, type ZipInput } from '@/lib/plugins/zip';
import { primaryTenant } from '@/lib/users/tenant';
import { organisationSigner } from './authority';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { issueCertificate, OID, parseCertificate } from './certificates';
import { signDetached, type CmsSigner } from './cms';
import { McpbError } from './errors';
import { appendSignatureBlock, extractSignatureBlock } from './framing';
import { generateSigningKey, type SigningKey } from './keys';
import { listSigningCertificates, organisationCaPem, renewSigningCertificates, signBundle, signBundleAsOrganisation, validateBundle, verifyBundle, verifyBundleAsOrganisation } from './index';

// The run's GATEHOUSE_SECRET, which other files (and the CLI they start) share: the CA is installation-wide.
configureTestEnvironment();
const work = mkdtempSync(path.join(tmpdir(), 'gatehouse-mcpb-'));
const DAY = 86_400_000;

/**
 * An RSA-3072 key costs up to seconds of CPU to make, and the chains below need up to four at once
 * (root, two intermediates, signer), each distinct. Handed out in turn from five made once per file:
 * any five consecutive keys differ, and the organisation's own keys are never among them.
 */
const KEY_RING_SIZE = 5;
const keyRing: SigningKey[] = [];
let keysHandedOut = 0;
function testKey(): SigningKey {
  if (keyRing.length < KEY_RING_SIZE) keyRing.push(generateSigningKey());
  return keyRing[keysHandedOut++ % KEY_RING_SIZE]!;
}

const MANIFEST = {
  manifest_version: '0.3',
  name: 'acme-files',
  version: '1.2.0',
  description: 'Reads Acme’s shared drive',
  author: { name: 'Acme IT' },
  server: { type: 'node', entry_point: 'server/index.js', mcp_config: { command: 'node', args: ['${__dirname}/server/index.js'] } },
  tools: [{ name: 'read_file', description: 'Reads a file' }],
};

function bundleOf(manifest: unknown, extra: ZipInput[] = [{ name: 'server/index.js', data: Buffer.from('console.log("acme")\n') }]): Buffer {
  return writeZip([{ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, ...extra]);
}

function issuesOf(run: () => unknown): { field: string; message: string }[] {
  try {
    run();
  } catch (error) {
    if (error instanceof McpbError) return error.issues;
    throw error;
  }
  throw new Error('expected the bundle to be refused');
}

/** An independent signer: another CA and its code-signing certificate, as another organisation would have. */
async function otherSigner(options: { codeSigning?: boolean } = {}): Promise<CmsSigner & { caPem: string }> {
  const caKey = testKey();
  const now = Date.now();
  const subject = { organizationName: 'Mallory Ltd', commonName: 'Mallory CA' };
  const ca = await issueCertificate({ kind: 'ca', subject, key: caKey, notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) });
  if (options.codeSigning === false) return { certificatePem: ca.pem, key: caKey, chainPems: [], caPem: ca.pem };
  const key = testKey();
  const leaf = await issueCertificate({ kind: 'code_signing', subject: { ...subject, commonName: 'Mallory signing' }, key, notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY), issuer: { pem: ca.pem, key: caKey } });
  return { certificatePem: leaf.pem, key, chainPems: [ca.pem], caPem: ca.pem };
}

/** `openssl cms -verify` of the MCPB block over its zip, chain to `caPem`; returns whether it verified and what it printed. */
function opensslVerify(signed: Buffer, caPem: string, name: string): { ok: boolean; output: string; signerPem: string } {
  const block = extractSignatureBlock(signed);
  if (block.kind !== 'signed') throw new Error(`no signature block: ${block.kind}`);
  const files = { zip: path.join(work, `${name}.zip`), sig: path.join(work, `${name}.p7s`), ca: path.join(work, `${name}-ca.pem`), signer: path.join(work, `${name}-signer.pem`) };
  writeFileSync(files.zip, block.content);
  writeFileSync(files.sig, block.signature);
  writeFileSync(files.ca, caPem);
  // -purpose any: OpenSSL 3.0 has no code-signing purpose; the EKU is checked on the signer below.
  const run = spawnSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', files.sig, '-content', files.zip, '-CAfile', files.ca, '-purpose', 'any', '-signer', files.signer, '-out', '/dev/null'], { encoding: 'utf8' });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}`, signerPem: run.status === 0 ? execFileSync('cat', [files.signer], { encoding: 'utf8' }) : '' };
}

describe('bundle validation', () => {
  it('accepts a bundle whose manifest has the required fields and whose entry point is in it', () => {
    const validated = validateBundle(bundleOf(MANIFEST));
    expect(validated).toMatchObject({ manifestVersion: '0.3', files: 2, manifest: { name: 'acme-files', version: '1.2.0' } });
    expect(validateBundle(bundleOf({ ...MANIFEST, manifest_version: undefined, dxt_version: '0.1' })).manifestVersion).toBe('0.1');
  });

  it('names every field that is wrong', () => {
    const { name: _name, author: _author, ...rest } = MANIFEST;
    expect(issuesOf(() => validateBundle(bundleOf({ ...rest, version: 7, server: { ...MANIFEST.server, type: 'ruby' } })))).toEqual([
      { field: 'name', message: 'is required' },
      { field: 'version', message: 'must be a non-empty string' },
      { field: 'author', message: 'is required' },
      { field: 'server.type', message: 'must be node, python, binary or uv' },
    ]);
    expect(issuesOf(() => validateBundle(bundleOf({ ...MANIFEST, manifest_version: undefined, icon: '../icon.png', server: { type: 'python', entry_point: 'main.py' } })))).toEqual([
      { field: 'manifest_version', message: 'is required (or the legacy dxt_version)' },
      { field: 'server.mcp_config', message: 'is required: an object with the command (and args, env) that starts the server' },
      { field: 'server.entry_point', message: '"main.py" is not a file in the bundle' },
      { field: 'icon', message: '"../icon.png" must be a path inside the bundle' },
    ]);
    expect(issuesOf(() => validateBundle(bundleOf({ ...MANIFEST, server: { ...MANIFEST.server, type: 'uv' } })))).toEqual([{ field: 'server.type', message: '"uv" needs manifest_version 0.4 (this manifest is 0.3)' }]);
  });

  it('refuses what is not a bundle, with the reason', () => {
    expect(issuesOf(() => validateBundle(Buffer.from('just text, not a zip archive at all')))).toEqual([{ field: 'bundle', message: 'not a ZIP archive (no end-of-central-directory record)' }]);
    expect(issuesOf(() => validateBundle(writeZip([{ name: 'server/index.js', data: Buffer.from('x') }])))).toEqual([{ field: 'manifest.json', message: 'is missing: a bundle has manifest.json at the root of the zip' }]);
    expect(issuesOf(() => validateBundle(writeZip([{ name: 'manifest.json', data: Buffer.from('{"name": ') }])))[0]).toMatchObject({ field: 'manifest.json', message: expect.stringMatching(/^is not valid JSON/) });
    expect(issuesOf(() => validateBundle(Buffer.concat([bundleOf(MANIFEST), Buffer.from('extra')])))).toEqual([{ field: 'bundle', message: '5 bytes follow the end of the ZIP archive' }]);
  });
});

describe('signing as the organisation', () => {
  let caPem: string;
  let signed: Buffer;
  const unsigned = bundleOf(MANIFEST);

  beforeAll(async () => {
    const result = await signBundleAsOrganisation(unsigned, { call_source: 'cli' }, 'acme-files.mcpb');
    signed = result.signed;
    caPem = await organisationCaPem();
    expect(result.manifest.name).toBe('acme-files');
  });

  it('appends the MCPB block to the unchanged zip, and refuses to sign the signed file again', () => {
    const block = extractSignatureBlock(signed);
    expect(block.kind).toBe('signed');
    if (block.kind !== 'signed') return;
    expect(block.content.equals(unsigned)).toBe(true);
    expect(signed.subarray(unsigned.length, unsigned.length + 11).toString('ascii')).toBe('MCPB_SIG_V1');
    expect(signed.readUInt32LE(unsigned.length + 11)).toBe(block.signature.length);
    expect(signed.subarray(-12).toString('ascii')).toBe('MCPB_SIG_END');
    // Unzip still reads it: the block is trailing data after the archive.
    expect(issuesOf(() => validateBundle(signed))).toEqual([{ field: 'bundle', message: expect.stringMatching(/^is already signed/) }]);
  });

  it('verifies with openssl cms against the organisation CA, the signer carrying EKU codeSigning, and with lib/mcpb', async () => {
    const openssl = opensslVerify(signed, caPem, 'good');
    expect(openssl.output).toContain('Verification successful');
    expect(openssl.ok).toBe(true);
    const eku = execFileSync('openssl', ['x509', '-noout', '-ext', 'extendedKeyUsage,basicConstraints'], { input: openssl.signerPem, encoding: 'utf8' });
    expect(eku).toContain('Code Signing');
    expect(eku).toContain('CA:FALSE');
    const verified = await verifyBundleAsOrganisation(signed);
    expect(verified).toMatchObject({ ok: true, signer: { subject: expect.stringContaining('desktop-extension signing') } });
  });

  it('fails both verifiers when one byte of the zip changes', async () => {
    const tampered = Buffer.from(signed);
    tampered[40] = tampered[40]! ^ 0x01;
    const openssl = opensslVerify(tampered, caPem, 'tampered');
    expect(openssl.ok).toBe(false);
    expect(openssl.output).toMatch(/content verify error/i);
    expect(await verifyBundleAsOrganisation(tampered)).toMatchObject({ ok: false, reason: 'content_modified' });
  });

  it('fails both verifiers for a bundle signed by another CA', async () => {
    const mallory = await otherSigner();
    const foreign = (await signBundle(unsigned, mallory)).signed;
    const openssl = opensslVerify(foreign, caPem, 'foreign');
    expect(openssl.ok).toBe(false);
    expect(openssl.output).toMatch(/certificate verify error|unable to get local issuer/i);
    expect(await verifyBundleAsOrganisation(foreign)).toMatchObject({ ok: false, reason: 'untrusted_chain' });
    // Mallory's bundle is fine against Mallory's own CA: the verifier takes any trust set.
    expect(await verifyBundle(foreign, { trustedCaPems: [mallory.caPem] })).toMatchObject({ ok: true });
    expect(opensslVerify(foreign, mallory.caPem, 'foreign-own').ok).toBe(true);
  });

  it('verifies a signature OpenSSL made the MCPB way, naming the signer by issuer and serial or by key identifier', async () => {
    const mallory = await otherSigner();
    const files = { zip: path.join(work, 'openssl.zip'), signer: path.join(work, 'openssl-signer.pem'), key: path.join(work, 'openssl-key.pem'), ca: path.join(work, 'openssl-ca.pem') };
    writeFileSync(files.zip, unsigned);
    writeFileSync(files.signer, mallory.certificatePem);
    writeFileSync(files.key, mallory.key.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    writeFileSync(files.ca, mallory.caPem);
    for (const keyId of [[], ['-keyid']]) {
      const der = execFileSync('openssl', ['cms', '-sign', '-binary', '-in', files.zip, '-signer', files.signer, '-inkey', files.key, '-certfile', files.ca, '-outform', 'DER', '-md', 'sha256', '-nosmimecap', ...keyId]);
      const bundle = appendSignatureBlock(unsigned, der);
      expect(await verifyBundle(bundle, { trustedCaPems: [mallory.caPem] }), keyId.join(' ') || 'issuer and serial').toMatchObject({ ok: true, signer: { subject: expect.stringContaining('Mallory signing') } });
      expect(await verifyBundle(bundle, { trustedCaPems: [caPem] })).toMatchObject({ ok: false, reason: 'untrusted_chain' });
    }
  });

  it('gives each other failure its own reason', async () => {
    const trust = { trustedCaPems: [caPem] };
    expect(await verifyBundle(unsigned, trust)).toMatchObject({ ok: false, reason: 'unsigned' });
    expect(await verifyBundle(Buffer.concat([signed, Buffer.from('x')]), trust)).toMatchObject({ ok: false, reason: 'malformed_signature_block' });
    const block = extractSignatureBlock(signed);
    if (block.kind !== 'signed') throw new Error('not signed');
    expect(await verifyBundle(appendSignatureBlock(unsigned, Buffer.from('not DER at all')), trust)).toMatchObject({ ok: false, reason: 'malformed_signature' });
    // The RSA signature value is the last bytes of the SignerInfo, which ends the DER here.
    const badSignature = Buffer.from(block.signature);
    badSignature[badSignature.length - 5] = badSignature[badSignature.length - 5]! ^ 0x01;
    expect(await verifyBundle(appendSignatureBlock(unsigned, badSignature), trust)).toMatchObject({ ok: false, reason: 'signature_invalid' });
    expect(await verifyBundle(signed, { ...trust, at: new Date(Date.now() + 400 * DAY) })).toMatchObject({ ok: false, reason: 'certificate_expired' });
    expect(await verifyBundle(signed, { ...trust, at: new Date(Date.now() - DAY) })).toMatchObject({ ok: false, reason: 'certificate_not_yet_valid' });
    const caAsSigner = await otherSigner({ codeSigning: false });
    const byCa = appendSignatureBlock(unsigned, await signDetached(unsigned, caAsSigner));
    expect(await verifyBundle(byCa, { trustedCaPems: [caAsSigner.caPem] })).toMatchObject({ ok: false, reason: 'not_code_signing' });
  });

  it("refuses a signer below an intermediate CA when the root's path length allows none, as openssl does", async () => {
    const now = Date.now();
    const subject = { organizationName: 'Mallory Ltd', commonName: 'Mallory root' };
    const rootKey = testKey();
    const root = await issueCertificate({ kind: 'ca', subject, key: rootKey, notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) });
    const middleKey = testKey();
    const middle = await issueCertificate({ kind: 'ca', subject: { ...subject, commonName: 'Mallory intermediate' }, key: middleKey, notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY), issuer: { pem: root.pem, key: rootKey } });
    const key = testKey();
    const leaf = await issueCertificate({ kind: 'code_signing', subject: { ...subject, commonName: 'Mallory signing' }, key, notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY), issuer: { pem: middle.pem, key: middleKey } });
    const bundle = appendSignatureBlock(unsigned, await signDetached(unsigned, { certificatePem: leaf.pem, key, chainPems: [middle.pem, root.pem] }));
    // Both CAs say pathLenConstraint 0: the root may sign only end-entity certificates.
    expect(await verifyBundle(bundle, { trustedCaPems: [root.pem] })).toMatchObject({ ok: false, reason: 'untrusted_chain' });
    expect(opensslVerify(bundle, root.pem, 'path-length').ok).toBe(false);
    // Trusting the intermediate itself, the same signer verifies.
    expect(await verifyBundle(bundle, { trustedCaPems: [middle.pem] })).toMatchObject({ ok: true });
  });

  // Intermediates from the root down; each row's signer is issued by the last. EKU undefined: no extension.
  const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
  const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
  it.each([
    { name: 'an intermediate without extended key usage', intermediates: [undefined], ok: true },
    { name: 'an intermediate for codeSigning', intermediates: [[OID.codeSigning]], ok: true },
    { name: 'an intermediate for anyExtendedKeyUsage', intermediates: [[OID.anyExtendedKeyUsage]], ok: true },
    { name: 'an intermediate for serverAuth and codeSigning', intermediates: [[SERVER_AUTH, OID.codeSigning]], ok: true },
    { name: 'an intermediate for serverAuth only', intermediates: [[SERVER_AUTH]], ok: false },
    { name: 'an intermediate for serverAuth and clientAuth', intermediates: [[SERVER_AUTH, CLIENT_AUTH]], ok: false },
    { name: 'an unrestricted intermediate below one for serverAuth', intermediates: [[SERVER_AUTH], undefined], ok: false },
    { name: 'an intermediate for serverAuth below one for codeSigning', intermediates: [[OID.codeSigning], [SERVER_AUTH]], ok: false },
  ])('a signer below $name verifies: $ok', async ({ intermediates, ok }) => {
    const now = Date.now();
    const validity = { notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) };
    const subject = { organizationName: 'Mallory Ltd', commonName: 'Mallory root' };
    let issuer = { key: testKey(), pem: '' };
    issuer.pem = (await issueCertificate({ kind: 'ca', subject, key: issuer.key, pathLength: intermediates.length, ...validity })).pem;
    const root = issuer.pem;
    const chainPems = [root];
    for (const [index, purposes] of intermediates.entries()) {
      const key = testKey();
      const { pem } = await issueCertificate({
        kind: 'ca',
        subject: { ...subject, commonName: `Mallory intermediate ${index + 1}` },
        key,
        pathLength: intermediates.length - index - 1,
        extendedKeyUsage: purposes ?? null,
        issuer,
        ...validity,
      });
      chainPems.unshift(pem);
      issuer = { key, pem };
    }
    const key = testKey();
    const leaf = await issueCertificate({ kind: 'code_signing', subject: { ...subject, commonName: 'Mallory signing' }, key, issuer, ...validity });
    const bundle = appendSignatureBlock(unsigned, await signDetached(unsigned, { certificatePem: leaf.pem, key, chainPems }));
    const verified = await verifyBundle(bundle, { trustedCaPems: [root] });
    if (ok) expect(verified).toMatchObject({ ok: true, chain: chainPems.map(() => expect.anything()) });
    else expect(verified).toMatchObject({ ok: false, reason: 'not_code_signing', message: expect.stringMatching(/^the intermediate CA .*Mallory intermediate \d may not issue code-signing certificates/) });
  });

  // Signers and intermediates a verifier must not take at their word. `signer`/`middle`: what the
  // signer and an intermediate between it and the root carry besides the usual.
  const UNKNOWN_OID = '1.3.6.1.4.1.55555.1';
  const unknown = (critical: boolean) => ({ extraExtensions: [{ extnID: UNKNOWN_OID, critical, value: new asn1js.Utf8String({ value: 'x' }) }] });
  const POLICIES = { extraExtensions: [{ extnID: '2.5.29.32', critical: true, value: new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: '2.5.29.32.0' })] })] }) }] };
  it.each([
    { name: 'a plain code-signing signer', signer: {}, reason: null },
    { name: 'a signer with a non-critical extension it does not know', signer: unknown(false), reason: null },
    { name: 'a signer with a critical extension it does not know', signer: unknown(true), reason: 'unrecognised_critical_extension' },
    { name: 'a signer with critical certificatePolicies (not applied)', signer: POLICIES, reason: 'unrecognised_critical_extension' },
    { name: 'a signer below an intermediate with a critical extension it does not know', signer: {}, middle: unknown(true), reason: 'unrecognised_critical_extension' },
    { name: 'a signer that is a CA (cA:true, digitalSignature, codeSigning)', signer: { cA: true }, reason: 'not_code_signing' },
    { name: 'a signer for anyExtendedKeyUsage only', signer: { extendedKeyUsage: [OID.anyExtendedKeyUsage] }, reason: 'not_code_signing' },
    { name: 'a signer for anyExtendedKeyUsage and codeSigning', signer: { extendedKeyUsage: [OID.anyExtendedKeyUsage, OID.codeSigning] }, reason: null },
  ])('$name: refused for $reason', async ({ signer, middle, reason }) => {
    const now = Date.now();
    const validity = { notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) };
    const subject = { organizationName: 'Mallory Ltd', commonName: 'Mallory root' };
    const rootKey = testKey();
    const root = await issueCertificate({ kind: 'ca', subject, key: rootKey, pathLength: middle ? 1 : 0, ...validity });
    let issuer = { pem: root.pem, key: rootKey };
    const chainPems = [root.pem];
    if (middle) {
      const key = testKey();
      issuer = { key, pem: (await issueCertificate({ kind: 'ca', subject: { ...subject, commonName: 'Mallory intermediate' }, key, issuer, ...validity, ...middle })).pem };
      chainPems.unshift(issuer.pem);
    }
    const key = testKey();
    const leaf = await issueCertificate({ kind: 'code_signing', subject: { ...subject, commonName: 'Mallory signing' }, key, issuer, ...validity, ...signer });
    const bundle = appendSignatureBlock(unsigned, await signDetached(unsigned, { certificatePem: leaf.pem, key, chainPems }));
    const verified = await verifyBundle(bundle, { trustedCaPems: [root.pem] });
    expect(verified).toMatchObject(reason ? { ok: false, reason } : { ok: true });
  });

  it('issues CAs for codeSigning only: the root devices trust cannot vouch for a TLS server', async () => {
    const caKey = testKey();
    const validity = { notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + DAY) };
    const ca = await issueCertificate({ kind: 'ca', subject: { organizationName: 'Acme', commonName: 'Acme CA' }, key: caKey, ...validity });
    const parsed = parseCertificate(ca.pem).extensions!.find((entry) => entry.extnID === OID.extKeyUsage);
    expect(parsed?.parsedValue).toBeInstanceOf(pkijs.ExtKeyUsage);
    expect((parsed!.parsedValue as pkijs.ExtKeyUsage).keyPurposes).toEqual([OID.codeSigning]);
    const text = execFileSync('openssl', ['x509', '-noout', '-ext', 'extendedKeyUsage,basicConstraints'], { input: ca.pem, encoding: 'utf8' });
    expect(text).toMatch(/X509v3 Extended Key Usage: \n\s+Code Signing\n/);
    expect(text).toContain('CA:TRUE');
    // OpenSSL refuses it as a TLS server's root: a server certificate under it does not verify for sslserver.
    const server = await issueCertificate({ kind: 'code_signing', subject: { organizationName: 'Acme', commonName: 'gatehouse.example.com' }, key: testKey(), extendedKeyUsage: ['1.3.6.1.5.5.7.3.1'], ...validity, issuer: { pem: ca.pem, key: caKey } });
    writeFileSync(path.join(work, 'eku-root.pem'), ca.pem);
    const check = spawnSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', path.join(work, 'eku-root.pem')], { input: server.pem, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toMatch(/unsupported certificate purpose|unsuitable/i);
    expect(check.status).not.toBe(0);
  });

  it('audits every signing and every refusal', async () => {
    await expect(signBundleAsOrganisation(signed, { call_source: 'cli' }, 'twice.mcpb')).rejects.toThrow(McpbError);
    const tenant = await primaryTenant();
    const { rows } = await pool().query<{ event: { outcome: string; target: { name: string }; attributes: Record<string, string> } }>(
      `SELECT event FROM audit_events WHERE tenant_id = $1 AND event->>'action' = 'mcp_bundle.sign' ORDER BY seq`,
      [tenant.id],
    );
    expect(rows.map((row) => [row.event.outcome, row.event.target.name])).toEqual(
      expect.arrayContaining([
        ['success', 'acme-files'],
        ['failure', 'twice.mcpb'],
      ]),
    );
  });

  // Only the code-signing certificate is renewed here: test files run in parallel on one database,
  // and a new CA would change what the others' bundles verify against.
  it('renews the code-signing certificate under the same CA, and what the old one signed still verifies', async () => {
    const renewed = await renewSigningCertificates();
    expect(await organisationCaPem()).toBe(caPem);
    const again = await signBundleAsOrganisation(unsigned, { call_source: 'cli' }, 'acme-files.mcpb');
    expect(again.serialNumber).toBe(renewed.find((entry) => entry.kind === 'code_signing')!.serialNumber);
    const certificates = await listSigningCertificates();
    expect(certificates.filter((entry) => entry.kind === 'ca' && entry.status === 'active')).toHaveLength(1);
    expect(certificates.filter((entry) => entry.kind === 'code_signing' && entry.status === 'retired').length).toBeGreaterThanOrEqual(1);
    expect(await verifyBundleAsOrganisation(signed)).toMatchObject({ ok: true });
    expect(await verifyBundleAsOrganisation(again.signed)).toMatchObject({ ok: true });
    expect(opensslVerify(again.signed, caPem, 'renewed').ok).toBe(true);
  });

  it("keeps one code-signing certificate through the CA's last 30 days instead of issuing one per signing", async () => {
    const ca = (await listSigningCertificates()).find((entry) => entry.kind === 'ca' && entry.status === 'active')!;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(ca.notAfter.getTime() - 10 * DAY);
      const first = await organisationSigner();
      const second = await organisationSigner();
      expect(second.serialNumber).toBe(first.serialNumber);
    } finally {
      vi.useRealTimers();
      // The certificate issued ten years ahead is not valid yet: other tests sign with a current one.
      await renewSigningCertificates();
    }
  });
});
