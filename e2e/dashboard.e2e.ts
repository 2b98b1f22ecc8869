import { describe, expect, inject, it } from 'vitest';
import { pagePerTest, submitPasswordSignIn } from './browser';

const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

// Each test starts signed out, in a browser profile of its own.
const browsing = pagePerTest(baseUrl);

function submitSignIn(email: string, password: string): Promise<void> {
  return submitPasswordSignIn(browsing.page, email, password);
}

async function statValue(id: string): Promise<string> {
  return ((await browsing.page.locator(`[data-stat="${id}"] [data-stat-value]`).textContent()) ?? '').trim();
}

describe('dashboard', () => {
  it('sends a visitor who is not signed in to the sign-in page', async () => {
    await browsing.page.goto('/');
    const url = new URL(browsing.page.url());
    expect(url.pathname).toBe('/signin');
    expect(url.searchParams.get('callbackUrl')).toBe('/');
    expect(await browsing.page.getByRole('heading', { name: 'Sign in to Gatehouse' }).isVisible()).toBe(true);
  });

  it('says so when the password is wrong', async () => {
    await browsing.page.goto('/signin');
    await submitSignIn(adminEmail, 'not the password');
    // By id: Next's route announcer is an (empty) alert region too.
    const alert = browsing.page.locator('#signin-error');
    await alert.waitFor();
    expect(await alert.getAttribute('role')).toBe('alert');
    expect(await alert.textContent()).toBe('Email or password is incorrect');
    expect(new URL(browsing.page.url()).pathname).toBe('/signin');
  });

  it('signs the admin in to an overview with real numbers, and out again', async () => {
    await browsing.page.goto('/');
    await submitSignIn(adminEmail, adminPassword);
    await browsing.page.waitForURL((url) => url.pathname === '/');
    await browsing.page.getByRole('heading', { name: 'Overview' }).waitFor();

    // Other test files may have spent or made requests in this server's database by now.
    expect(await statValue('active-users')).toMatch(/^\d+$/);
    expect(await statValue('requests')).toMatch(/^[\d,]+$/);
    expect(await statValue('spend')).toMatch(/^\$[\d,]+\.\d{2,6}$/);
    expect(await statValue('blocked-rate')).toMatch(/^\d+(\.\d)? %$/);
    expect(await statValue('error-rate')).toMatch(/^\d+(\.\d)? %$/);
    // The seeding and this very sign-in are audit events of the last 24 hours.
    expect(Number(await statValue('audit-events'))).toBeGreaterThanOrEqual(1);
    expect(await statValue('policy-version')).toMatch(/^pv_[0-9a-f]{16}$/);
    expect(await browsing.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).isVisible()).toBe(true);

    await browsing.page.getByRole('button', { name: 'Sign out' }).click();
    await browsing.page.waitForURL((url) => url.pathname === '/signin');
    await browsing.page.goto('/users');
    expect(new URL(browsing.page.url()).pathname).toBe('/signin');
  });

  it('returns to the page asked for after signing in, and lists the admin on /users', async () => {
    await browsing.page.goto('/users');
    expect(new URL(browsing.page.url()).searchParams.get('callbackUrl')).toBe('/users');
    await submitSignIn(adminEmail, adminPassword);
    await browsing.page.waitForURL((url) => url.pathname === '/users');

    const adminRow = browsing.page.getByRole('row').filter({ hasText: adminEmail });
    await adminRow.waitFor();
    const cells = (await adminRow.getByRole('cell').allTextContents()).map((text) => text.trim());
    expect(cells[0]).toBe(adminEmail);
    expect(cells[1]).not.toBe('');
    expect(cells[3]).toContain('admin');
    expect(cells[4]).toBe('active');
    expect(cells[5]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
  });

  it('shows sign-in attempts in the audit log, filtered by event type', async () => {
    await browsing.page.goto('/audit?type=auth.sign_in');
    await submitSignIn(adminEmail, 'a wrong guess');
    await browsing.page.locator('#signin-error').waitFor();
    await submitSignIn(adminEmail, adminPassword);
    await browsing.page.waitForURL((url) => url.pathname === '/audit');
    expect(new URL(browsing.page.url()).searchParams.get('type')).toBe('auth.sign_in');

    const rows = browsing.page.getByRole('row').filter({ hasText: 'auth.sign_in' });
    await rows.first().waitFor();
    const texts = await rows.allTextContents();
    expect(texts.length).toBeGreaterThanOrEqual(2);
    // Other browser tests' sign-ins (token.issue, device.approve, the admin's own elsewhere) share
    // the database; the admin's attempts here are dashboard sign-ins.
    expect(texts.some((text) => text.includes(adminEmail) && text.includes('session.create'))).toBe(true);
    expect(texts.some((text) => text.includes('success') && text.includes(adminEmail))).toBe(true);
    expect(texts.some((text) => text.includes('failure'))).toBe(true);
    expect(await browsing.page.getByRole('row').filter({ hasText: 'admin.change' }).count()).toBe(0);
  });
});

describe('probes', () => {
  it('/healthz and /readyz answer JSON 200 from the data plane', async () => {
    const health = await fetch(`${baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toContain('application/json');
    expect(await health.json()).toMatchObject({ status: 'ok', version: expect.any(String), uptime_s: expect.any(Number) });
    // Answered by the Node server itself: Next would have added its RSC `Vary` header.
    expect(health.headers.get('vary')).toBeNull();
    const page = await fetch(`${baseUrl}/signin`);
    expect(page.headers.get('vary')).toContain('rsc');

    const ready = await fetch(`${baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { database: { ok: true }, migrations: { ok: true, pending: [] }, queue: { ok: true } },
    });
  });
});
