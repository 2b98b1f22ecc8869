import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { asUpload, samplePluginFiles } from '@/lib/plugins/testing/sample';
import { writeZip } from '@/lib/plugins/zip';
import { launchChromium, signInWithPassword } from './browser';

const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

// One plugin's life, in order: an author publishes it, an administrator reviews the diff and
// approves, a member browses, installs, reviews, forks it and the fork is published.
const suffix = randomBytes(3).toString('hex');
const pluginName = `team-kit-${suffix}`;
const forkName = `${pluginName}-bob`;
const authorEmail = `ada.${suffix}@example.org`;
const memberEmail = `bob.${suffix}@example.org`;
const screenshots = path.join(process.cwd(), 'test-results', 'marketplace');

let browser: Browser;
const contexts: BrowserContext[] = [];
let admin: Page;
let author: Page;
let member: Page;

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1440, height: 1000 } });
  contexts.push(context);
  return context.newPage();
}

async function statusOf(page: Page, formName: string): Promise<string> {
  const form = page.getByRole('form', { name: formName });
  const message = form.getByRole('status').or(form.getByRole('alert'));
  await message.first().waitFor();
  return (await message.first().textContent()) ?? '';
}

async function createUser(email: string, name: string): Promise<string> {
  await admin.goto('/users');
  const addUser = admin.getByRole('form', { name: 'Add user' });
  await addUser.getByLabel('Email', { exact: true }).fill(email);
  await addUser.getByLabel('Name', { exact: true }).fill(name);
  await addUser.getByLabel('Role', { exact: true }).selectOption({ label: 'author' });
  await addUser.getByRole('button', { name: 'Create user' }).click();
  expect(await statusOf(admin, 'Add user')).toContain(`Created ${email}`);
  return addUser.getByLabel('Generated password').inputValue();
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(screenshots, `${name}-1440.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(screenshots, `${name}-390.png`), fullPage: true });
  await page.setViewportSize({ width: 1440, height: 1000 });
}

beforeAll(async () => {
  mkdirSync(screenshots, { recursive: true });
  browser = await launchChromium();
  admin = await newPage();
  await signInWithPassword(admin, adminEmail, adminPassword);
  const authorPassword = await createUser(authorEmail, 'Ada Author');
  const memberPassword = await createUser(memberEmail, 'Bob Member');
  author = await newPage();
  await signInWithPassword(author, authorEmail, authorPassword);
  member = await newPage();
  await signInWithPassword(member, memberEmail, memberPassword);
}, 120_000);

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
});

describe('marketplace', () => {
  it('an author publishes a plugin as a ZIP; a broken one is refused per file and line', async () => {
    await author.goto('/plugins/publish');
    const upload = author.getByRole('form', { name: 'Upload a ZIP' });
    const broken = samplePluginFiles({ name: pluginName, files: { '.claude-plugin/plugin.json': '{\n  "name": "x",\n  "version": 1\n}\n' } });
    await upload.getByLabel('Plugin archive').setInputFiles({ name: 'broken.zip', mimeType: 'application/zip', buffer: writeZip(asUpload(broken)) });
    await upload.getByRole('button', { name: 'Validate and submit' }).click();
    expect(await statusOf(author, 'Upload a ZIP')).toMatch(/\.claude-plugin\/plugin\.json:3: version/);

    const files = samplePluginFiles({ name: pluginName, version: '1.0.0', withHooks: true, withMcp: true });
    await upload.getByLabel('Plugin archive').setInputFiles({ name: `${pluginName}.zip`, mimeType: 'application/zip', buffer: writeZip(asUpload(files)) });
    await upload.getByLabel('Changelog').fill('First release for the team');
    await upload.getByRole('button', { name: 'Validate and submit' }).click();
    await author.getByRole('form', { name: 'Upload a ZIP' }).getByRole('status').filter({ hasText: 'Submitted' }).waitFor();
    expect(await statusOf(author, 'Upload a ZIP')).toContain(`Submitted ${pluginName}@1.0.0 for review`);
  });

  it('an administrator reviews the diff, with hooks and MCP servers highlighted, and approves', async () => {
    await admin.goto('/plugins/review');
    const section = admin.getByRole('region', { name: `${pluginName}@1.0.0` });
    await section.waitFor();
    const warning = section.getByRole('note', { name: 'Code that runs on laptops' });
    expect(await warning.textContent()).toContain('hook PreToolUse (Bash)');
    expect(await warning.textContent()).toContain('MCP server acme-search (http): https://mcp.acme.example/search');
    expect(await section.getByRole('row').filter({ hasText: 'hooks/hooks.json' }).textContent()).toContain('runs code');
    await shoot(admin, 'review-queue');
    const approve = admin.getByRole('form', { name: `Approve ${pluginName}@1.0.0` });
    await approve.getByLabel('Comment').fill('Hook only checks Bash; MCP host is ours');
    await approve.getByRole('button', { name: 'Approve and sign' }).click();
    // Decided versions leave the queue.
    await section.waitFor({ state: 'detached' });
  });

  it('a member browses, installs and reviews it', async () => {
    await member.goto('/marketplace');
    await member.getByRole('searchbox', { name: 'Search plugins' }).or(member.getByLabel('Search plugins')).first().fill(pluginName);
    await member.getByRole('button', { name: 'Apply' }).click();
    await member.waitForURL((url) => url.searchParams.get('q') === pluginName);
    const cards = member.getByRole('list', { name: 'Plugins' }).getByRole('listitem');
    expect(await cards.count()).toBe(1);
    await shoot(member, 'browse');
    await cards.first().getByRole('link', { name: pluginName }).click();
    await member.getByRole('heading', { name: pluginName }).waitFor();
    expect(await member.getByText(/Signature verified/).first().isVisible()).toBe(true);
    expect(await member.getByRole('region', { name: 'README' }).textContent()).toContain('Shared tools for ACME teams');
    expect(await member.getByRole('region', { name: 'What it brings' }).textContent()).toContain('acme-search (http)');

    const install = member.getByRole('form', { name: 'Install plugin' });
    await install.getByRole('button', { name: 'Install' }).click();
    // The form gives way to the installed state; it stays after a reload.
    await member.getByText(/Installed for you/).waitFor();
    await member.reload();
    await member.getByText(/Installed for you/).waitFor();

    const review = member.getByRole('form', { name: 'Your review' });
    await review.getByLabel('Stars').selectOption('4');
    await review.getByLabel('Review').fill('Saves me ten minutes a day');
    await review.getByRole('button', { name: 'Post review' }).click();
    expect(await statusOf(member, 'Your review')).toContain('review is saved');
    await member.reload();
    expect(await member.getByRole('listitem', { name: 'Review by Bob Member' }).textContent()).toContain('Saves me ten minutes a day');
    await shoot(member, 'plugin-page');
  });

  it('the member forks it; the fork is reviewed and published, and its page links to the origin', async () => {
    const fork = member.getByRole('form', { name: 'Fork plugin' });
    await fork.getByLabel('New plugin name').fill(forkName);
    await fork.getByRole('button', { name: 'Fork and submit' }).click();
    expect(await statusOf(member, 'Fork plugin')).toContain(`Forked as ${forkName}`);

    await admin.goto('/plugins/review');
    const forkSection = admin.getByRole('region', { name: `${forkName}@1.0.0` });
    expect(await forkSection.textContent()).toContain('New plugin');
    await forkSection.getByRole('form', { name: `Approve ${forkName}@1.0.0` }).getByRole('button', { name: 'Approve and sign' }).click();
    await forkSection.waitFor({ state: 'detached' });

    await member.goto(`/plugins/${forkName}`);
    await member.getByRole('heading', { name: forkName }).waitFor();
    const origin = member.getByRole('link', { name: `${pluginName}@1.0.0` });
    await origin.click();
    await member.getByRole('heading', { name: pluginName, exact: true }).waitFor();
    expect(new URL(member.url()).pathname).toBe(`/plugins/${pluginName}`);
  });
});
