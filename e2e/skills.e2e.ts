import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium, signInWithPassword } from './browser';

const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

// One author's afternoon, in order: each test builds on the last.
const suffix = randomBytes(3).toString('hex');
const skillName = `weekly-report-${suffix}`;
let skillPath = '';

let browser: Browser;
let adminContext: BrowserContext;
let admin: Page;

const skillMd = (name: string, body: string) => `---\nname: ${name}\ndescription: Drafts the weekly report.\narguments:\n  - name: team\n    required: true\n---\n\n${body}\n`;

beforeAll(async () => {
  browser = await launchChromium();
  adminContext = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1440, height: 1000 } });
  admin = await adminContext.newPage();
  await signInWithPassword(admin, adminEmail, adminPassword);
});

afterAll(async () => {
  await browser?.close();
});

async function createMember(): Promise<{ email: string; password: string }> {
  const email = `lin.${suffix}@example.org`;
  await admin.goto('/users');
  const form = admin.getByRole('form', { name: 'Add user' });
  await form.getByLabel('Email', { exact: true }).fill(email);
  await form.getByLabel('Name', { exact: true }).fill('Lin Member');
  await form.getByRole('button', { name: 'Create user' }).click();
  await form.getByRole('status').waitFor();
  return { email, password: await form.getByLabel('Generated password').inputValue() };
}

describe('skills in the dashboard', () => {
  it('shows a frontmatter error at its line as you type, saves once fixed, and keeps each save in the history', async () => {
    await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Skills' }).click();
    await admin.getByRole('heading', { name: 'Skills', exact: true }).waitFor();
    await admin.getByRole('link', { name: 'New skill' }).click();
    const editor = admin.getByRole('form', { name: 'New skill' });
    const text = editor.getByLabel('SKILL.md');

    await text.fill(skillMd('Weekly Report', 'Write the report for $team.'));
    const problem = editor.getByRole('list', { name: 'Problems' }).getByRole('listitem').first();
    await problem.waitFor();
    expect(await problem.textContent()).toBe('Line 2: name may use only lower-case letters, digits and single hyphens (a-z, 0-9, -), not at the start or end');
    expect(await problem.getAttribute('data-line')).toBe('2');
    expect(await editor.locator('li[data-error]').allTextContents()).toEqual(['2']);
    expect(await editor.getByRole('button', { name: 'Create skill' }).isDisabled()).toBe(true);

    await text.fill(skillMd(skillName, '# Weekly report\n\nWrite the report for $team.'));
    await editor.getByText('Frontmatter is valid.').waitFor();
    expect(await editor.getByLabel('Rendered preview').getByRole('heading', { name: 'Weekly report' }).isVisible()).toBe(true);
    await editor.getByRole('button', { name: 'Create skill' }).click();
    await admin.waitForURL((url) => /^\/skills\/[0-9a-f-]{36}$/.test(url.pathname));
    skillPath = new URL(admin.url()).pathname;
    await admin.getByRole('heading', { name: skillName }).waitFor();

    const edit = admin.getByRole('form', { name: 'Edit skill' });
    await edit.getByLabel('SKILL.md').fill(skillMd(skillName, '# Weekly report\n\nWrite the report for $team, with numbers.'));
    await edit.getByRole('button', { name: 'Save' }).click();
    expect(await edit.getByRole('status').filter({ hasText: 'Saved' }).textContent()).toBe('Saved as version 2.');

    const history = admin.getByRole('region', { name: 'History' });
    await history.getByRole('cell', { name: 'v2' }).waitFor();
    expect(await history.getByRole('cell', { name: /^v\d$/ }).allTextContents()).toEqual(['v2', 'v1']);
    await history.getByRole('link', { name: 'Changes in version 2' }).click();
    const diff = admin.getByLabel('Diff of version 2');
    await diff.waitFor();
    expect(await diff.locator('[data-change="removed"]').allTextContents()).toEqual(['- Write the report for $team.']);
    expect(await diff.locator('[data-change="added"]').allTextContents()).toEqual(['+ Write the report for $team, with numbers.']);
    await admin.screenshot({ path: `.test-data/screenshots/skill-editor-1440.png`, fullPage: true }).catch(() => undefined);
  });

  it('never shows another user’s private skill; shared with the organisation, it appears read-only', async () => {
    const member = await createMember();
    const memberContext = await browser.newContext({ baseURL: baseUrl, viewport: { width: 390, height: 900 } });
    try {
      const page = await memberContext.newPage();
      await signInWithPassword(page, member.email, member.password);
      await page.goto('/skills?view=shared');
      await page.getByText('Nobody has shared a skill with you yet.').waitFor();
      const direct = await page.goto(skillPath);
      expect(direct?.status()).toBe(404);
      expect(await page.getByText(skillName).count()).toBe(0);

      await admin.goto(skillPath);
      const sharing = admin.getByRole('form', { name: 'Sharing' });
      await sharing.getByLabel('Shared with').selectOption({ label: 'Everyone in the organisation' });
      await sharing.getByRole('button', { name: 'Save sharing' }).click();
      expect(await sharing.getByRole('status').textContent()).toContain('Everyone in the organisation can use it now.');

      await page.goto('/skills?view=shared');
      await page.getByRole('link', { name: skillName }).click();
      await page.getByRole('heading', { name: skillName }).waitFor();
      expect(await page.getByText('Only its owner can change it.').isVisible()).toBe(true);
      expect(await page.getByRole('form', { name: 'Edit skill' }).count()).toBe(0);
      await page.screenshot({ path: `.test-data/screenshots/skill-shared-390.png`, fullPage: true }).catch(() => undefined);
    } finally {
      await memberContext.close();
    }
  });
});
