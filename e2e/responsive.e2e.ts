import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { pagePerTest, signInWithPassword } from './browser';

const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

const browsing = pagePerTest(baseUrl);

const WIDTHS = [1440, 390] as const;

/** Pixels the page scrolls sideways: 0 means everything fits the window. */
function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** Every main-navigation link lies inside the window (none scrolled or clipped out of sight). */
async function navLinksOutOfSight(page: Page): Promise<string[]> {
  const width = page.viewportSize()!.width;
  const links = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
  const hidden: string[] = [];
  for (const link of await links.all()) {
    const box = await link.boundingBox();
    if (!box || box.x < 0 || box.x + box.width > width) hidden.push((await link.textContent()) ?? '?');
  }
  return hidden;
}

async function createMember(page: Page): Promise<{ email: string; password: string }> {
  const email = `grace.${randomBytes(3).toString('hex')}@example.org`;
  await page.goto('/users');
  const form = page.getByRole('form', { name: 'Add user' });
  await form.getByLabel('Email', { exact: true }).fill(email);
  await form.getByLabel('Name', { exact: true }).fill('Grace Hopper');
  // The least privileged role is preselected: creating the user without touching it grants member.
  await form.getByRole('button', { name: 'Create user' }).click();
  await form.getByRole('status').waitFor();
  const password = await form.getByLabel('Generated password').inputValue();
  const row = page.getByRole('row').filter({ hasText: email });
  await row.waitFor();
  expect((await row.getByRole('cell').allTextContents()).map((text) => text.trim())).toContain('member');
  return { email, password };
}

describe('the dashboard on a desktop and on a phone', () => {
  it('fits every page in the window at 1440 px and 390 px, with every navigation item in sight', async () => {
    const { page } = browsing;
    await signInWithPassword(page, adminEmail, adminPassword);
    await page.goto('/users');
    const adminPage = await page.getByRole('link', { name: adminEmail }).getAttribute('href');
    const paths = ['/', '/users', adminPage!, '/departments', '/roles', '/clients', '/audit', '/audit?type=plugin.lifecycle', '/skills', '/skills/new', '/mcp-servers', '/tool-policy'];
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      for (const path of paths) {
        await page.goto(path);
        await page.getByRole('heading', { level: 1 }).first().waitFor();
        expect({ width, path, overflow: await horizontalOverflow(page) }).toEqual({ width, path, overflow: 0 });
        expect({ width, path, hidden: await navLinksOutOfSight(page) }).toEqual({ width, path, hidden: [] });
      }
      // An empty filtered log says which filter emptied it, readable without scrolling sideways.
      // A trace id nobody used: empty whatever other browser tests have recorded.
      await page.goto(`/audit?trace=${'0'.repeat(31)}1`);
      const empty = page.getByText('No events match these filters in this time range. Widen the range or clear a filter.');
      await empty.waitFor();
      const box = (await empty.boundingBox())!;
      expect(box.x >= 0 && box.x + box.width <= width).toBe(true);
    }
  }, 240_000);

  it('preselects the least privileged role when granting one, and shows a member only their own figures', async () => {
    const { page, browser } = browsing;
    await signInWithPassword(page, adminEmail, adminPassword);
    const member = await createMember(page);
    await page.getByRole('link', { name: member.email }).click();
    await page.getByRole('heading', { name: 'Grace Hopper' }).waitFor();
    const grant = page.getByRole('form', { name: 'Grant role' }).getByLabel('Role', { exact: true });
    expect(await grant.locator('option:checked').textContent()).toBe('member');

    const context = await browser.newContext({ baseURL: baseUrl });
    try {
      const memberPage = await context.newPage();
      await signInWithPassword(memberPage, member.email, member.password);
      const cards = await memberPage.locator('[data-stat]').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-stat')));
      expect(cards).toEqual(['my-requests', 'my-spend', 'policy-version']);
      expect(await memberPage.getByText('Active users').count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});
