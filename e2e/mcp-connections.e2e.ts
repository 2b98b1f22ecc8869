import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFakeOAuthUpstream, type FakeOAuthUpstream } from '@/lib/mcp/upstream-oauth/testing/fake-provider';
import { pagePerTest, signInWithPassword } from './browser';

// A person connects their own account at a registered server that signs people in itself, in
// Chromium: the dashboard's button, the authorization server's redirect (signed in there by a
// cookie), Gatehouse's callback, the connections page; then disconnects.
const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

const name = `e2e-drive-${randomBytes(3).toString('hex')}`;
let upstream: FakeOAuthUpstream;
const browsing = pagePerTest(baseUrl);

beforeAll(async () => {
  upstream = await startFakeOAuthUpstream();
});

afterAll(async () => {
  await upstream?.close();
});

describe('MCP connections in the dashboard', () => {
  it('connects the signed-in person’s account through the upstream’s sign-in and disconnects it', async () => {
    const { page } = browsing;
    await signInWithPassword(page, adminEmail, adminPassword);
    const registered = await page.request.post('/api/v1/mcp/servers', {
      data: { name, transport: 'streamable_http', url: upstream.mcpUrl, upstreamAuth: { type: 'oauth_user' }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] },
    });
    expect(registered.status(), await registered.text()).toBe(201);
    // Signed in at the upstream's authorization server (what its login page would leave behind).
    await page.context().addCookies([{ name: 'as_user', value: 'e2e-admin', url: upstream.issuer }]);

    await page.goto('/mcp-servers');
    await page.getByRole('link', { name: 'connect it on Your MCP connections' }).click();
    await page.getByRole('heading', { name: 'Your MCP connections' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'MCP connections' }).isVisible()).toBe(true);
    const row = page.getByRole('listitem', { name });
    expect(await row.getByText('Not connected').isVisible()).toBe(true);

    await row.getByRole('button', { name: 'Connect account' }).click();
    await page.waitForURL((url) => url.pathname === '/mcp-servers/connections' && url.searchParams.get('result') === 'connected');
    expect(await page.getByRole('status').textContent()).toContain(`Connected: calls to ${name} through Gatehouse now run as your account there.`);
    expect(await row.getByText('Connected', { exact: true }).isVisible()).toBe(true);
    expect(await row.getByText(/renewed automatically/).isVisible()).toBe(true);
    expect(upstream.counts.codes).toBe(1);

    await row.getByRole('button', { name: 'Disconnect' }).click();
    await row.getByRole('button', { name: 'Yes, disconnect' }).click();
    await page.waitForURL((url) => url.searchParams.get('result') === 'disconnected');
    expect(await page.getByRole('status').textContent()).toContain(`Disconnected from ${name}: Gatehouse deleted your tokens and the provider revoked them.`);
    expect(await row.getByText('Not connected').isVisible()).toBe(true);
    expect(upstream.counts.revocations).toBe(2);
  });
});
