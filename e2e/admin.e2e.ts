import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium, refreshWith, signInDeviceAs, signInWithPassword, submitPasswordSignIn } from './browser';

const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

// The tests below are one administrator's afternoon, in order: each builds on the last.
const suffix = randomBytes(3).toString('hex');
const department = `Lab ${suffix}`;
const departmentSlug = `lab-${suffix}`;
const userEmail = `ada.${suffix}@example.org`;
const roleName = `reviewer-${suffix}`;
let userPassword = '';

let browser: Browser;
let adminContext: BrowserContext;
let admin: Page;
let userContext: BrowserContext;
let user: Page;

beforeAll(async () => {
  browser = await launchChromium();
  adminContext = await browser.newContext({ baseURL: baseUrl });
  admin = await adminContext.newPage();
  userContext = await browser.newContext({ baseURL: baseUrl });
  user = await userContext.newPage();
  await signInWithPassword(admin, adminEmail, adminPassword);
});

afterAll(async () => {
  await browser?.close();
});

async function openUserPage(): Promise<void> {
  await admin.goto('/users');
  await admin.getByRole('link', { name: userEmail }).click();
  await admin.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();
}

async function statusOf(formName: string): Promise<string> {
  const status = admin.getByRole('form', { name: formName }).getByRole('status');
  await status.waitFor();
  return (await status.textContent()) ?? '';
}

describe('administration', () => {
  it('creates a department and a user whose role is limited to it', async () => {
    await admin.goto('/departments');
    const addDepartment = admin.getByRole('form', { name: 'Add department' });
    await addDepartment.getByLabel('Department name').fill(department);
    await addDepartment.getByRole('button', { name: 'Create department' }).click();
    expect(await statusOf('Add department')).toBe(`Created ${department} (slug ${departmentSlug}).`);
    await admin.getByRole('row').filter({ hasText: departmentSlug }).waitFor();

    await admin.goto('/users');
    const addUser = admin.getByRole('form', { name: 'Add user' });
    await addUser.getByLabel('Email', { exact: true }).fill(userEmail);
    await addUser.getByLabel('Name', { exact: true }).fill('Ada Lovelace');
    await addUser.getByLabel('Department', { exact: true }).selectOption({ label: department });
    await addUser.getByLabel('Role', { exact: true }).selectOption({ label: 'author' });
    await addUser.getByLabel(/only within the user’s department/).check();
    await addUser.getByRole('button', { name: 'Create user' }).click();
    expect(await statusOf('Add user')).toContain(`Created ${userEmail}`);
    userPassword = await addUser.getByLabel('Generated password').inputValue();
    expect(userPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);

    const row = admin.getByRole('row').filter({ hasText: userEmail });
    await row.waitFor();
    const cells = (await row.getByRole('cell').allTextContents()).map((text) => text.trim());
    expect(cells.slice(0, 5)).toEqual([userEmail, 'Ada Lovelace', department, `author@${departmentSlug}`, 'active']);

    // The new user signs in with the password shown once; they administer nothing.
    await signInWithPassword(user, userEmail, userPassword);
    const nav = user.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link', { name: 'Overview' }).isVisible()).toBe(true);
    expect(await nav.getByRole('link', { name: 'Users' }).count()).toBe(0);
    await user.goto('/users');
    expect(await user.getByRole('heading', { name: 'You don’t have access to this page' }).isVisible()).toBe(true);
  });

  it('disables the user, who is signed out and refused, then enables them again', async () => {
    await openUserPage();
    const disable = admin.getByRole('form', { name: 'Disable account' });
    await disable.getByRole('button', { name: 'Disable account' }).click();
    await disable.getByRole('button', { name: 'Yes, disable account' }).click();
    await admin.getByRole('form', { name: 'Enable account' }).waitFor();
    expect(await admin.getByText('disabled', { exact: true }).first().isVisible()).toBe(true);

    // Their open dashboard session ends at the next page, and signing in again is refused.
    await user.goto('/');
    expect(new URL(user.url()).pathname).toBe('/signin');
    await submitPasswordSignIn(user, userEmail, userPassword);
    const refusal = user.locator('#signin-error');
    await refusal.waitFor();
    expect(await refusal.textContent()).toBe('Account disabled');

    await admin.getByRole('form', { name: 'Enable account' }).getByRole('button', { name: 'Enable account' }).click();
    await admin.getByRole('form', { name: 'Disable account' }).waitFor();
    // A fresh browser: signing in works again.
    await userContext.close();
    userContext = await browser.newContext({ baseURL: baseUrl });
    user = await userContext.newPage();
    await signInWithPassword(user, userEmail, userPassword);
  });

  it('creates a custom role from the permission catalogue and grants it', async () => {
    await admin.goto('/roles');
    await admin.getByRole('link', { name: 'New role' }).click();
    const form = admin.getByRole('form', { name: 'New role' });
    await form.getByLabel('Name', { exact: true }).fill(roleName);
    await form.getByLabel('Description', { exact: true }).fill('Reviews plugins and reads the audit log');
    await form.getByRole('checkbox', { name: /^plugins\.review/ }).check();
    await form.getByRole('checkbox', { name: /^audit\.read/ }).check();
    await form.getByRole('button', { name: 'Create role' }).click();
    await admin.waitForURL((url) => url.pathname.startsWith('/roles/') && url.searchParams.get('created') === '1');
    expect(await admin.getByRole('status').filter({ hasText: `Created ${roleName}` }).isVisible()).toBe(true);
    expect(await admin.getByRole('checkbox', { name: /^audit\.read/ }).isChecked()).toBe(true);
    expect(await admin.getByRole('checkbox', { name: /^users\.admin/ }).isChecked()).toBe(false);

    await admin.goto('/roles');
    const row = admin.getByRole('row').filter({ hasText: roleName });
    expect(await row.textContent()).toContain('custom');
    // Built-in roles are shown, not editable.
    await admin.getByRole('link', { name: 'admin', exact: true }).click();
    await admin.getByText('Built-in roles are read-only.').waitFor();
    expect(await admin.getByRole('button', { name: 'Save role' }).count()).toBe(0);

    await openUserPage();
    const grant = admin.getByRole('form', { name: 'Grant role' });
    await grant.getByLabel('Role', { exact: true }).selectOption({ label: roleName });
    await grant.getByLabel('Applies', { exact: true }).selectOption({ label: 'Everywhere' });
    await grant.getByRole('button', { name: 'Grant role' }).click();
    expect(await statusOf('Grant role')).toBe('Role granted.');
    await admin.getByRole('table', { name: 'Role bindings' }).getByText(roleName).waitFor();

    // audit.read, tenant-wide, through the new role: the audit log opens for them now.
    await user.goto('/audit');
    await user.getByRole('heading', { name: 'Audit log' }).waitFor();
  });

  it('revokes one of the user’s sessions, which stops its tokens', async () => {
    // With openid, so the access token can be tried against /oauth/userinfo.
    const session = await signInDeviceAs(user, baseUrl, 'openid email');
    const userinfo = () => fetch(`${baseUrl}/oauth/userinfo`, { headers: { authorization: `Bearer ${session.accessToken}` } });
    expect((await userinfo()).status).toBe(200);
    await openUserPage();
    const sessions = admin.getByRole('table', { name: 'Sessions' });
    const row = sessions.getByRole('row').filter({ hasText: 'Claude Code' }).filter({ hasText: 'active' });
    await row.waitFor();
    await row.getByRole('button', { name: 'Revoke' }).click();
    await sessions.getByRole('row').filter({ hasText: 'admin revoked' }).waitFor();

    const refreshed = await refreshWith(baseUrl, session.refreshToken);
    // 401 invalid_grant: the client is told to sign in again.
    expect(refreshed.status).toBe(401);
    expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' });
    // The access token stops too (this process re-reads revocations at once).
    expect((await userinfo()).status).toBe(401);
  });

  it('records every change as an admin.change audit event by the administrator', async () => {
    await admin.goto('/audit?type=admin.change');
    const rows = admin.getByRole('row').filter({ hasText: adminEmail });
    await rows.first().waitFor();
    const actions = (await rows.allTextContents()).join('\n');
    for (const action of ['department.create', 'user.create', 'user.revoke', 'user.enable', 'role.create', 'role_binding.create', 'session.revoke']) {
      expect(actions, action).toContain(action);
    }
  });
});
