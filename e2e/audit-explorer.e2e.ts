import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { launchChromium, signInDeviceAs, signInWithPassword } from './browser';

const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');
const configPath = inject('e2eConfigPath');

const TERM = 'project-nightingale';
// Screenshots for README: GATEHOUSE_E2E_SCREENSHOTS=docs npx vitest run -c e2e/vitest.config.ts e2e/audit-explorer.e2e.ts
const screenshots = process.env.GATEHOUSE_E2E_SCREENSHOTS;

async function shoot(page: Page, name: string): Promise<void> {
  if (!screenshots) return;
  for (const width of [1440, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(screenshots, `${name}-${width}.png`), fullPage: width === 1440 });
  }
  await page.setViewportSize({ width: 1440, height: 900 });
}

/** Adds a model (on an upstream nobody answers: blocked requests never get that far) and a blocklist term. */
async function configureBlocklist(): Promise<void> {
  const config = (parse(await readFile(configPath, 'utf8')) ?? {}) as Record<string, unknown>;
  config.providers = { nowhere: { type: 'anthropic', base_url: 'http://127.0.0.1:9' } };
  config.models = { 'claude-sonnet-4-5': { targets: [{ provider: 'nowhere', model: 'claude-sonnet-4-5' }], price: { input_per_mtok_microdollars: 3_000_000, output_per_mtok_microdollars: 15_000_000 } } };
  config.policy = { blocklist: { terms: [TERM] }, secrets: { mode: 'redact' } };
  await writeFile(configPath, stringify(config));
}

describe('security reads why a request was blocked', () => {
  it('blocks a request through the gateway, then opens it in the explorer, its trace and the policy page', async () => {
    const browser = await launchChromium();
    try {
      const admin = await (await browser.newContext({ baseURL: baseUrl })).newPage();
      await signInWithPassword(admin, adminEmail, adminPassword);
      await configureBlocklist();

      // The reload shows on the policy page.
      await admin.goto('/policy');
      for (let tries = 0; !(await admin.getByRole('listitem').filter({ hasText: TERM }).first().isVisible()); tries++) {
        if (tries > 60) throw new Error(`the policy page never showed the reload:\n${(await admin.locator('body').innerText()).slice(0, 3000)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        await admin.reload();
      }
      await admin.getByRole('heading', { name: 'Blocklist' }).waitFor();
      expect(await admin.getByRole('table', { name: 'Models' }).getByText('nowhere/claude-sonnet-4-5').isVisible()).toBe(true);

      // A security officer, created by the admin.
      const email = `sec.${randomBytes(3).toString('hex')}@example.org`;
      await admin.goto('/users');
      const form = admin.getByRole('form', { name: 'Add user' });
      await form.getByLabel('Email', { exact: true }).fill(email);
      await form.getByLabel('Name', { exact: true }).fill('Sam Security');
      await form.getByLabel('Role', { exact: true }).selectOption({ label: 'security' });
      await form.getByRole('button', { name: 'Create user' }).click();
      await form.getByRole('status').waitFor();
      const password = await form.getByLabel('Generated password').inputValue();

      const security = await (await browser.newContext({ baseURL: baseUrl, viewport: { width: 1440, height: 900 } })).newPage();
      await signInWithPassword(security, email, password);
      const { accessToken } = await signInDeviceAs(security, baseUrl);
      const refused = await fetch(`${baseUrl}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: `What is the status of Project Nightingale?` }] }),
      });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('policy.blocklist.terms[0]');

      // The explorer, filtered by the form, then the drawer.
      await security.goto('/audit');
      const filters = security.getByRole('form', { name: 'Filter audit events' });
      await filters.getByLabel('Event type').selectOption('policy.decision');
      await filters.getByLabel('Outcome').selectOption('denied');
      await filters.getByLabel('User').fill(email);
      await filters.getByRole('button', { name: 'Apply filters' }).click();
      await security.waitForURL((url) => url.searchParams.get('type') === 'policy.decision' && url.searchParams.get('user') === email);
      const row = security.getByRole('row').filter({ hasText: 'policy.blocklist.terms[0]' });
      expect(await row.count()).toBe(1);
      // The explorer's CSV export has exactly the row the explorer shows.
      const detailHref = (await row.getByRole('link').first().getAttribute('href'))!;
      const eventId = new URL(detailHref, baseUrl).searchParams.get('event')!;
      const exportHref = (await security.getByRole('link', { name: 'Export CSV' }).getAttribute('href'))!;
      const csv = await security.context().request.get(exportHref);
      expect(csv.status()).toBe(200);
      expect(csv.headers()['content-type']).toContain('text/csv');
      const lines = (await csv.text()).trim().split('\r\n');
      expect(lines[0]!.startsWith('occurred_at,event_id,event_type')).toBe(true);
      expect(lines.slice(1).map((line) => line.split(',')[1])).toEqual([eventId]);
      await row.getByRole('link').first().click();
      const drawer = security.getByRole('dialog');
      await drawer.waitFor();
      expect(await drawer.getByTestId('decision-words').textContent()).toBe(`blocked: blocklist term \`${TERM}\``);
      expect(await drawer.getByText('"rule": "policy.blocklist.terms[0]"').isVisible()).toBe(true);
      await shoot(security, 'audit-explorer');

      // The trace: the policy step says the same.
      await drawer.getByRole('link', { name: /^[0-9a-f]{32}$/ }).click();
      await security.getByRole('heading', { name: 'Trace' }).waitFor();
      const timeline = security.getByRole('list', { name: 'Trace timeline' });
      expect(await timeline.locator('[data-step="policy"]').textContent()).toContain(`blocked: blocklist term \`${TERM}\``);
      await shoot(security, 'audit-trace');

      // The policy page counts the block under its rule, in words.
      await security.goto('/policy');
      const activity = security.getByRole('table', { name: 'Blocked and redacted requests per rule' });
      const ruleRow = activity.getByRole('row').filter({ hasText: 'policy.blocklist.terms[0]' });
      expect(await ruleRow.textContent()).toContain(`blocked: blocklist term \`${TERM}\``);
      await shoot(security, 'policy');
    } finally {
      await browser.close();
    }
  }, 240_000);
});
