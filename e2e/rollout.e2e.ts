// The Rollout page as IT uses it: change the gateway URL, download the macOS profile and the
// Claude Code settings, and find the change in the files (read back with the plist package).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'plist';
import { describe, expect, inject, it } from 'vitest';
import { pagePerTest, signInWithPassword } from './browser';

const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

const browsing = pagePerTest(baseUrl);

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
});
