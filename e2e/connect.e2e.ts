import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { pagePerTest, signInWithPassword } from './browser';

const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');
const databaseUrl = inject('e2eDatabaseUrl');

const browsing = pagePerTest(baseUrl);

/** A member created the way an administrator does it, with the password shown once. */
async function createMember(page: Page): Promise<{ email: string; password: string }> {
  const email = `linus.${randomBytes(3).toString('hex')}@example.org`;
  await page.goto('/users');
  const form = page.getByRole('form', { name: 'Add user' });
  await form.getByLabel('Email', { exact: true }).fill(email);
  await form.getByLabel('Name', { exact: true }).fill('Linus Member');
  await form.getByRole('button', { name: 'Create user' }).click();
  await form.getByRole('status').waitFor();
  return { email, password: await form.getByLabel('Generated password').inputValue() };
}

/** What the gateway's ledger would hold after priced calls: no page creates spend. */
async function recordSpend(email: string, microdollars: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO spend_ledger (tenant_id, user_id, day, model, requests, cost_microdollars)
       SELECT tenant_id, id, (now() AT TIME ZONE 'UTC')::date, 'claude-sonnet-4-5', 3, $2 FROM users WHERE email = $1`,
      [email, microdollars],
    );
  } finally {
    await client.end();
  }
}

async function statValue(page: Page, id: string): Promise<string> {
  return (await page.locator(`[data-stat="${id}"] [data-stat-value]`).textContent()) ?? '';
}

describe('the Connect page', () => {
  it('shows an employee their own spend and connection details, and organisation totals only to those who may see them', async () => {
    const { page, browser } = browsing;
    await signInWithPassword(page, adminEmail, adminPassword);
    const member = await createMember(page);
    await recordSpend(member.email, 1_234_567);
    await recordSpend(adminEmail, 2_000_000);

    const context = await browser.newContext({ baseURL: baseUrl });
    const memberPage = await context.newPage();
    try {
      await signInWithPassword(memberPage, member.email, member.password);
      await memberPage.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connect', exact: true }).click();
      await memberPage.getByRole('heading', { name: 'Connect', level: 1 }).waitFor();
      expect(await statValue(memberPage, 'my-spend-today')).toBe('$1.234567');
      expect(await statValue(memberPage, 'my-spend-month')).toBe('$1.234567');
      expect(await memberPage.getByRole('textbox', { name: 'Connector URL', exact: true }).inputValue()).toBe(`${baseUrl}/mcp`);
      expect(await memberPage.getByRole('textbox', { name: 'Add the skills server', exact: true }).inputValue()).toBe(`claude mcp add --transport http gatehouse ${baseUrl}/mcp`);
      expect(await memberPage.getByRole('textbox', { name: 'Gateway URL', exact: true }).inputValue()).toBe(baseUrl);
      // Nothing about anyone else: no organisation section, and the admin's spend appears nowhere.
      expect(await memberPage.locator('[data-organisation]').count()).toBe(0);
      expect(await memberPage.getByRole('heading', { name: 'Organisation' }).count()).toBe(0);
      const text = await memberPage.locator('main').innerText();
      expect(text).not.toContain('$2.00');
      expect(text).not.toContain('$3.234567');
      for (const width of [1440, 390]) {
        await memberPage.setViewportSize({ width, height: 900 });
        expect(await memberPage.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
      }
    } finally {
      await context.close();
    }

    await page.goto('/connect');
    await page.getByRole('heading', { name: 'Organisation' }).waitFor();
    expect(await statValue(page, 'my-spend-today')).toBe('$2.00');
    // The organisation's total includes the member's spend; other test files may add their own.
    const total = await statValue(page, 'org-spend-today');
    expect(Number(total.replace(/[$,]/g, ''))).toBeGreaterThanOrEqual(3.234567);
  });
});
