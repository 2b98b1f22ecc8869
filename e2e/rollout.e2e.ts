// The Rollout page as IT uses it: change the gateway URL, download the macOS profile and the
// Claude Code settings, and find the change in the files (read back with the plist package);
// download the desktop-extension CA and check it is the organisation CA that signs bundles.
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'plist';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, pool } from '@/lib/db/client';
import { activeCertificate } from '@/lib/mcpb/repository';
import { pagePerTest, signInWithPassword } from './browser';

const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

// Screenshots: GATEHOUSE_E2E_SCREENSHOTS=docs npx vitest run -c e2e/vitest.config.ts e2e/rollout.e2e.ts
const screenshots = process.env.GATEHOUSE_E2E_SCREENSHOTS;

const browsing = pagePerTest(baseUrl);

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

describe('Rollout', () => {
  it('an administrator changes the gateway URL and the downloaded profile and settings carry it', async () => {
    const { page } = browsing;
    await signInWithPassword(page, adminEmail, adminPassword);
    await page.goto('/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Rollout' }).click();
    await page.getByRole('heading', { name: 'Rollout', level: 1 }).waitFor();

    const gateway = `https://gw-${randomBytes(3).toString('hex')}.example.com`;
    const form = page.getByRole('form', { name: 'Rollout settings' });
    await form.getByLabel('Gateway URL').fill(gateway);
    await form.getByLabel('Claude Code signs in').selectOption('helper');
    await form.getByRole('button', { name: 'Save settings' }).click();
    await form.getByRole('status').filter({ hasText: 'Saved as version' }).waitFor();

    // The preview follows the saved settings.
    await page.getByLabel('Claude Desktop policy').getByText(gateway, { exact: true }).first().waitFor();
    expect(await page.getByLabel('Claude Code managed settings').textContent()).toContain(`"ANTHROPIC_BASE_URL": "${gateway}"`);

    const [profileDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'macOS profile (.mobileconfig)' }).click()]);
    expect(profileDownload.suggestedFilename()).toMatch(/\.mobileconfig$/);
    const profile = parse(readFileSync((await profileDownload.path())!, 'utf8')) as { PayloadContent: Record<string, unknown>[] };
    const desktop = profile.PayloadContent[0]!;
    expect(desktop.PayloadType).toBe('com.anthropic.claudefordesktop');
    expect(desktop.inferenceGatewayBaseUrl).toBe(gateway);
    expect(JSON.parse(desktop.inferenceCredentialHelperArgs as string)).toEqual(['--server', gateway, '--format', 'json']);

    const [settingsDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'managed-settings.json' }).click()]);
    const settings = JSON.parse(readFileSync((await settingsDownload.path())!, 'utf8')) as { apiKeyHelper: string; env: Record<string, string> };
    expect(settings.env.ANTHROPIC_BASE_URL).toBe(gateway);
    expect(settings.apiKeyHelper).toContain(`--server '${gateway}'`);

    // A bad value is refused on the form, naming the key, and nothing is saved.
    await form.getByLabel('Other Desktop keys (JSON)').fill('{"isLocalDevMcpEnabled": "sometimes"}');
    await form.getByRole('button', { name: 'Save settings' }).click();
    await form.getByRole('alert').filter({ hasText: 'Desktop key isLocalDevMcpEnabled must be true or false' }).waitFor();

    for (const width of [1440, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto('/rollout');
      await page.getByRole('heading', { name: 'Rollout', level: 1 }).waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    }
  });

  it('an administrator downloads the desktop-extension CA: PEM and DER of the organisation CA, the one the macOS profile installs', async () => {
    const { page } = browsing;
    await signInWithPassword(page, adminEmail, adminPassword);
    await page.goto('/rollout');
    await page.getByRole('heading', { name: 'Rollout', level: 1 }).waitFor();
    if (screenshots) {
      await page.setViewportSize({ width: 1440, height: 900 });
      await page.screenshot({ path: path.join(screenshots, 'rollout-1440.png'), fullPage: true });
    }

    const desktop = page.getByRole('region', { name: 'Claude Desktop and Cowork' });
    const [pemDownload] = await Promise.all([page.waitForEvent('download'), desktop.getByRole('link', { name: 'CA certificate (.pem)' }).click()]);
    expect(pemDownload.suggestedFilename()).toBe('extension-signing-ca.pem');
    const pem = readFileSync((await pemDownload.path())!, 'utf8');
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
    const fromPem = new X509Certificate(pem);

    const [derDownload] = await Promise.all([page.waitForEvent('download'), desktop.getByRole('link', { name: 'CA certificate (.cer)' }).click()]);
    expect(derDownload.suggestedFilename()).toBe('extension-signing-ca.cer');
    const der = readFileSync((await derDownload.path())!);
    expect(der[0]).toBe(0x30); // a DER SEQUENCE, not text
    const fromDer = new X509Certificate(der);
    expect(fromDer.fingerprint256).toBe(fromPem.fingerprint256);

    // A self-signed CA, the organisation's: the active CA of the signing authority.
    expect(fromPem.ca).toBe(true);
    expect(fromPem.subject).toMatch(/desktop-extension CA/);
    expect(fromPem.checkIssued(fromPem) && fromPem.verify(fromPem.publicKey)).toBe(true);
    expect(new Date(fromPem.validFrom).getTime()).toBeLessThanOrEqual(Date.now());
    expect(new Date(fromPem.validTo).getTime()).toBeGreaterThan(Date.now());
    process.env.DATABASE_URL = inject('e2eDatabaseUrl');
    const active = await activeCertificate('ca');
    expect(active).not.toBeNull();
    expect(new X509Certificate(active!.certificatePem).fingerprint256).toBe(fromPem.fingerprint256);

    // The profile that installs it as a trusted root carries the same certificate.
    const [profileDownload] = await Promise.all([page.waitForEvent('download'), desktop.getByRole('link', { name: 'macOS profile with the extension CA' }).click()]);
    const profile = parse(readFileSync((await profileDownload.path())!, 'utf8')) as { PayloadContent: { PayloadType: string; PayloadContent?: Buffer }[] };
    const root = profile.PayloadContent.find((payload) => payload.PayloadType === 'com.apple.security.root');
    expect(new X509Certificate(root!.PayloadContent!).fingerprint256).toBe(fromPem.fingerprint256);

    // Each download is audited with the digest of what was handed out.
    const { rows } = await pool().query<{ event: { attributes: { file: string; sha256: string } } }>("SELECT event FROM audit_events WHERE event->>'action' = 'rollout.download' AND event->'attributes'->>'file' LIKE 'extension-signing-ca.%'");
    const digests = rows.map((row) => `${row.event.attributes.file}:${row.event.attributes.sha256}`);
    expect(digests).toEqual(expect.arrayContaining([`extension-signing-ca.pem:${createHash('sha256').update(pem).digest('hex')}`, `extension-signing-ca.cer:${createHash('sha256').update(der).digest('hex')}`]));
  });
});
