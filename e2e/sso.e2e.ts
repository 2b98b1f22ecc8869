import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { pagePerTest, signInDeviceAs, signInWithPassword } from './browser';
import { setFakeIdentity, type FakeIdentity } from './fake-idp';
import { SSO_PROVIDER_NAME } from './sso-fixture';

const baseUrl = inject('e2eBaseUrl');
const idpUrl = inject('e2eIdpUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

const suffix = randomBytes(3).toString('hex');
const grace: FakeIdentity = {
  sub: `00u${suffix}`,
  email: `grace.${suffix}@idp.example`,
  name: 'Grace Hopper',
  department: 'Research & Development',
  groups: ['gatehouse-authors', 'everyone'],
};

// Each test starts signed out, in a browser profile of its own.
const browsing = pagePerTest(baseUrl);

/** From a signed-out page: the SSO button, the IdP's automatic approval, back to Gatehouse. */
async function signInThroughIdp(identity: FakeIdentity | null): Promise<void> {
  await setFakeIdentity(idpUrl, identity);
  await browsing.page.goto('/');
  await browsing.page.getByRole('button', { name: `Sign in with ${SSO_PROVIDER_NAME}` }).click();
}

/** An administrator in a browser profile of their own; the caller closes its context. */
async function adminPage(): Promise<Page> {
  const adminContext = await browsing.browser.newContext({ baseURL: baseUrl });
  const admin = await adminContext.newPage();
  await signInWithPassword(admin, adminEmail, adminPassword);
  return admin;
}

async function userRowCells(admin: Page, email: string): Promise<string[]> {
  await admin.goto('/users');
  const row = admin.getByRole('row').filter({ hasText: email });
  await row.waitFor();
  return (await row.getByRole('cell').allTextContents()).map((text) => text.trim());
}

async function roleBadges(admin: Page, email: string): Promise<string[]> {
  await admin.goto('/users');
  return (await admin.getByRole('row').filter({ hasText: email }).getByRole('cell').nth(3).locator('span span').allTextContents()).sort();
}

describe('single sign-on', () => {
  it('creates the user on first sign-in, in the mapped department and roles, and lets them approve a device', async () => {
    await signInThroughIdp(grace);
    await browsing.page.waitForURL((url) => url.pathname === '/');
    await browsing.page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await browsing.page.getByTestId('signed-in-name').textContent()).toBe('Grace Hopper');

    // An SSO user approves Claude Code's device sign-in like anyone else.
    const session = await signInDeviceAs(browsing.page, baseUrl);
    expect(session.refreshToken.length).toBeGreaterThan(20);

    const admin = await adminPage();
    const cells = await userRowCells(admin, grace.email);
    // The department may already exist under its display name (another file creates "Research").
    expect(cells.slice(0, 3).map((cell, index) => (index === 2 ? cell.toLowerCase() : cell))).toEqual([grace.email, 'Grace Hopper', 'research']);
    expect(cells[4]).toBe('active');
    expect(await roleBadges(admin, grace.email)).toEqual(['author', 'member']);
    await admin.context().close();
  });

  it('updates the roles on the next sign-in when the IdP groups changed', async () => {
    await signInThroughIdp({ ...grace, groups: ['gatehouse-security'] });
    await browsing.page.waitForURL((url) => url.pathname === '/');
    // security reads the audit log: the menu shows it now.
    await browsing.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).waitFor();

    const admin = await adminPage();
    expect(await roleBadges(admin, grace.email)).toEqual(['member', 'security']);
    await admin.goto(`/audit?type=auth.sign_in`);
    await admin.getByRole('row').filter({ hasText: grace.email }).filter({ hasText: 'success' }).first().waitFor();
    await admin.context().close();
  });

  it('keeps the IdP account on the same user when the IdP changes the address', async () => {
    const renamed = `grace.hopper.${suffix}@idp.example`;
    await signInThroughIdp({ ...grace, email: renamed });
    await browsing.page.waitForURL((url) => url.pathname === '/');
    const admin = await adminPage();
    const cells = await userRowCells(admin, renamed);
    expect(cells.slice(0, 3).map((cell, index) => (index === 2 ? cell.toLowerCase() : cell))).toEqual([renamed, 'Grace Hopper', 'research']);
    expect(await admin.getByRole('row').filter({ hasText: grace.email }).count()).toBe(0);
    await admin.context().close();

    // And back: still the one user.
    await browsing.page.context().clearCookies();
    await signInThroughIdp(grace);
    await browsing.page.waitForURL((url) => url.pathname === '/');
  });

  it('refuses an address the IdP does not say it verified', async () => {
    await signInThroughIdp({ ...grace, sub: `unverified-${suffix}`, email: `unverified.${suffix}@idp.example`, email_verified: null });
    await browsing.page.waitForURL((url) => url.pathname === '/signin' && url.searchParams.get('error') === 'sso_email_unverified');
    expect(await browsing.page.locator('#signin-error').textContent()).toBe('Your identity provider has not verified your email address');
  });

  it('does not sign in to a password account through an IdP that has the same address', async () => {
    const email = `lin.${suffix}@idp.example`;
    const admin = await adminPage();
    await admin.goto('/users');
    const addUser = admin.getByRole('form', { name: 'Add user' });
    await addUser.getByLabel('Email', { exact: true }).fill(email);
    await addUser.getByLabel('Name', { exact: true }).fill('Lin Password');
    await addUser.getByRole('button', { name: 'Create user' }).click();
    await addUser.getByLabel('Generated password').waitFor();
    await admin.context().close();

    await signInThroughIdp({ ...grace, sub: `lin-${suffix}`, email, name: 'Lin at the IdP', groups: ['gatehouse-security'] });
    await browsing.page.waitForURL((url) => url.pathname === '/signin' && url.searchParams.get('error') === 'sso_account_exists');
    expect(await browsing.page.locator('#signin-error').textContent()).toContain('Ask a Gatehouse administrator to link it');
    const check = await adminPage();
    expect((await userRowCells(check, email)).slice(0, 2)).toEqual([email, 'Lin Password']);
    expect(await roleBadges(check, email)).toEqual(['member']);
    await check.context().close();
  });

  it('refuses a disabled account and an email domain the provider does not allow', async () => {
    const admin = await adminPage();
    await admin.goto('/users');
    await admin.getByRole('link', { name: grace.email }).click();
    const disable = admin.getByRole('form', { name: 'Disable account' });
    await disable.getByRole('button', { name: 'Disable account' }).click();
    await disable.getByRole('button', { name: 'Yes, disable account' }).click();
    await admin.getByRole('form', { name: 'Enable account' }).waitFor();
    await admin.context().close();

    await signInThroughIdp(grace);
    await browsing.page.waitForURL((url) => url.pathname === '/signin' && url.searchParams.get('error') === 'disabled');
    expect(await browsing.page.locator('#signin-error').textContent()).toBe('Account disabled');

    await signInThroughIdp({ ...grace, sub: 'outsider', email: `mallory.${suffix}@elsewhere.example` });
    await browsing.page.waitForURL((url) => url.pathname === '/signin' && url.searchParams.get('error') === 'sso_domain');
    expect(await browsing.page.locator('#signin-error').textContent()).toBe('Accounts from your email domain may not sign in to Gatehouse');
  });
});
