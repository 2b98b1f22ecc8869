import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

/** Debian's Chromium, headless, with nothing phoning home. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export interface PagePerTest {
  /** The file's Chromium, for tests that need a second profile (an administrator beside the user). */
  readonly browser: Browser;
  /** The current test's page; read it inside a test or hook, not at the top of the file. */
  readonly page: Page;
}

/**
 * Registers the hooks that give every test of the calling file a signed-out page in a browser
 * profile of its own, so no test inherits another's cookies; one Chromium serves the whole file
 * because launching it costs far more than a fresh context.
 */
export function pagePerTest(baseUrl: string): PagePerTest {
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    context = await browser!.newContext({ baseURL: baseUrl });
    page = await context.newPage();
  });
  afterEach(async () => {
    await context?.close();
  });
  return {
    get browser() {
      if (!browser) throw new Error('pagePerTest: the browser is only there inside tests and hooks');
      return browser;
    },
    get page() {
      if (!page) throw new Error('pagePerTest: the page is only there inside tests and hooks');
      return page;
    },
  };
}

/** Fills the password form on /signin (the caller navigates there). */
export async function submitPasswordSignIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Signs in from a fresh page and waits for the overview. */
export async function signInWithPassword(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/signin');
  await submitPasswordSignIn(page, email, password);
  await page.waitForURL((url) => url.pathname === '/');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

export interface DeviceSession {
  refreshToken: string;
  accessToken: string;
}

/**
 * Claude Code's sign-in, end to end: the device authorization request over HTTP, approval in
 * `page` (signed in as the user), then the token request.
 */
export async function signInDeviceAs(page: Page, baseUrl: string, scope?: string): Promise<DeviceSession> {
  const started = await fetch(`${baseUrl}/oauth/device_authorization`, { method: 'POST', body: new URLSearchParams({ surface: 'claude_code', ...(scope ? { scope } : {}) }) });
  if (!started.ok) throw new Error(`device authorization failed: ${started.status} ${await started.text()}`);
  const codes = (await started.json()) as { device_code: string; verification_uri_complete: string };
  await page.goto(codes.verification_uri_complete);
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.waitForLoadState();
  const heading = (await page.getByRole('heading', { level: 1 }).first().textContent()) ?? '';
  if (heading !== 'Device connected') throw new Error(`device approval failed: ${heading}: ${await page.locator('body').innerText()}`);
  const tokens = await fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: codes.device_code }),
  });
  if (!tokens.ok) throw new Error(`device token request failed: ${tokens.status} ${await tokens.text()}`);
  const body = (await tokens.json()) as { access_token: string; refresh_token: string };
  return { accessToken: body.access_token, refreshToken: body.refresh_token };
}

export function refreshWith(baseUrl: string, refreshToken: string): Promise<Response> {
  return fetch(`${baseUrl}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }) });
}

/**
 * Full-page screenshots of `page` at desktop and phone widths into GATEHOUSE_E2E_SCREENSHOTS
 * (`docs` for the README's pictures), only when that variable is set.
 */
export async function shootIfAsked(page: Page, name: string): Promise<void> {
  const screenshots = process.env.GATEHOUSE_E2E_SCREENSHOTS;
  if (!screenshots) return;
  for (const width of [1440, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(screenshots, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1440, height: 900 });
}
