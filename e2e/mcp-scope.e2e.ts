// The MCP servers page's scope editor as an administrator uses it, and what it changes where it
// counts: the signed allowlist two people's devices fetch with their own sign-in, verified as
// gatehouse-sync verifies it (pinned to the person, no going back in sequence).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, pool } from '@/lib/db/client';
import type { AllowlistResponse } from '@/lib/mcp/allowlist/documents';
import { verifyAllowlist, type VerifiedAllowlist } from '@/lib/mcp/allowlist/verify';
import { trustedKeysFrom, type Ed25519Jwk } from '@/lib/signing/jws';
import { createUser } from '@/lib/users/users';
import { pagePerTest, shootIfAsked, signInDeviceAs, signInWithPassword } from './browser';

const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

// Screenshots: GATEHOUSE_E2E_SCREENSHOTS=docs npx vitest run -c e2e/vitest.config.ts e2e/mcp-scope.e2e.ts

const suffix = randomBytes(3).toString('hex');
const server = `ledger-${suffix}`;
const payments = { name: `Payments ${suffix}`, slug: `payments-${suffix}` };
const marketing = { name: `Marketing ${suffix}`, slug: `marketing-${suffix}` };
const people = {
  payer: { email: `payer.${suffix}@example.org`, password: `payer-${randomBytes(9).toString('base64url')}`, department: payments.name },
  marketer: { email: `marketer.${suffix}@example.org`, password: `marketer-${randomBytes(9).toString('base64url')}`, department: marketing.name },
  // Named one by one in a second server's scope: one stays, one is deleted, one is deactivated while the editor is open.
  stayer: { email: `stayer.${suffix}@example.org`, password: `stayer-${randomBytes(9).toString('base64url')}`, department: payments.name },
  leaver: { email: `leaver.${suffix}@example.org`, password: `leaver-${randomBytes(9).toString('base64url')}`, department: payments.name },
  quitter: { email: `quitter.${suffix}@example.org`, password: `quitter-${randomBytes(9).toString('base64url')}`, department: payments.name },
};

const browsing = pagePerTest(baseUrl);

beforeAll(async () => {
  process.env.DATABASE_URL = inject('e2eDatabaseUrl');
  for (const person of Object.values(people)) await createUser({ email: person.email, name: person.email.split('@')[0]!, roles: ['member'], department: person.department, password: person.password }, { call_source: 'system' });
});

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

/** The person's access token, as Claude Code's /login gets it: their own sign-in, in a browser profile of its own. */
async function tokenOf(person: { email: string; password: string }): Promise<string> {
  const context = await browsing.browser.newContext({ baseURL: baseUrl });
  try {
    const page = await context.newPage();
    await signInWithPassword(page, person.email, person.password);
    return (await signInDeviceAs(page, baseUrl)).accessToken;
  } finally {
    await context.close();
  }
}

/** GET /api/v1/mcp/allowlist, verified against the published organisation key as a device would. */
async function allowlistOf(token: string, previous?: VerifiedAllowlist): Promise<VerifiedAllowlist> {
  const keys = (await (await fetch(`${baseUrl}/.well-known/gatehouse/org-keys.json`)).json()) as { keys: Ed25519Jwk[] };
  const response = await fetch(`${baseUrl}/api/v1/mcp/allowlist`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return verifyAllowlist((await response.json()) as AllowlistResponse, {
    trusted: trustedKeysFrom(keys),
    ...(previous ? { last: { seq: previous.seq, iat: previous.iat }, subject: { tenant: previous.allowlist.tenant, sub: previous.allowlist.sub } } : {}),
  });
}

const lists = (allowlist: VerifiedAllowlist, name: string) => allowlist.servers.some((entry) => entry.manifest.server.name === name);

describe('editing an MCP server’s scope in the dashboard', () => {
  it('moves the server from one department to another: it leaves one person’s allowlist and enters the other’s', async () => {
    const { page } = browsing;
    const tokens = { payer: await tokenOf(people.payer), marketer: await tokenOf(people.marketer) };

    await signInWithPassword(page, adminEmail, adminPassword);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'MCP servers' }).click();
    const register = page.getByRole('form', { name: 'Register a server' });
    await register.getByLabel('Name', { exact: true }).fill(server);
    await register.getByLabel('Transport', { exact: true }).selectOption('stdio');
    await register.getByLabel('Command', { exact: true }).fill('npx');
    await register.getByLabel('Arguments (one per line)').fill('-y\n@acme/ledger-mcp');
    await register.getByLabel('Tools (JSON)').fill(JSON.stringify([{ name: 'read_ledger', inputSchema: { type: 'object' } }]));
    await register.getByLabel(payments.name, { exact: true }).check();
    await register.getByRole('button', { name: 'Register' }).click();
    expect(await register.getByRole('status').textContent()).toBe(`Registered ${server} (run on devices) with 1 declared tool(s).`);

    const before = { payer: await allowlistOf(tokens.payer), marketer: await allowlistOf(tokens.marketer) };
    expect(lists(before.payer, server)).toBe(true);
    expect(lists(before.marketer, server)).toBe(false);

    // The editor opens with the scope as it is, and replaces it with what is ticked.
    await page.getByRole('row').filter({ hasText: server }).getByRole('link', { name: `Edit the scope of ${server}` }).click();
    const editor = page.getByRole('form', { name: `Scope of ${server}` });
    await editor.waitFor();
    expect(await editor.getByLabel(payments.name, { exact: true }).isChecked()).toBe(true);
    expect(await editor.getByLabel(marketing.name, { exact: true }).isChecked()).toBe(false);
    expect(await editor.getByLabel('Everyone', { exact: true }).isChecked()).toBe(false);
    await editor.getByLabel(payments.name, { exact: true }).uncheck();
    await editor.getByLabel(marketing.name, { exact: true }).check();
    await editor.getByRole('button', { name: 'Save scope' }).click();
    expect(await editor.getByRole('status').textContent()).toBe(`${server} is now for department ${marketing.slug}; clients converge at their next allowlist poll.`);
    const row = page.getByRole('row').filter({ hasText: server });
    await row.filter({ hasText: `department ${marketing.slug}` }).waitFor();
    expect(await row.textContent()).not.toContain(`department ${payments.slug}`);
    await shootIfAsked(page, 'mcp-server-scope');

    // Each device's next poll: a newer allowlist (the sequence moved), the server where the scope now says.
    const after = { payer: await allowlistOf(tokens.payer, before.payer), marketer: await allowlistOf(tokens.marketer, before.marketer) };
    expect(after.payer.seq).toBeGreaterThan(before.payer.seq);
    expect(after.marketer.seq).toBeGreaterThan(before.marketer.seq);
    expect(lists(after.payer, server)).toBe(false);
    expect(lists(after.marketer, server)).toBe(true);
    expect(after.marketer.servers.find((entry) => entry.manifest.server.name === server)!.manifest.scope).toHaveLength(1);

    // Recorded once, as made in the dashboard, with the new scope.
    const { rows } = await pool().query<{ event: { action: string; outcome: string; call_source: string; attributes: Record<string, unknown> } }>(
      "SELECT event FROM audit_events WHERE event->'target'->>'name' = $1 ORDER BY occurred_at, seq",
      [server],
    );
    expect(rows.map((entry) => `${entry.event.action}:${entry.event.outcome}:${entry.event.call_source}`)).toEqual(['mcp.server.register:success:dashboard', 'mcp.server.update:success:dashboard']);
    expect(rows[1]!.event.attributes).toMatchObject({ scope: `department ${marketing.slug}` });
  }, 180_000);

  it('refuses a scope that includes nobody, and drops people who left instead of failing the save', async () => {
    const { page } = browsing;
    const named = `named-${suffix}`;
    await signInWithPassword(page, adminEmail, adminPassword);
    await page.goto(`${baseUrl}/mcp-servers`);
    const register = page.getByRole('form', { name: 'Register a server' });
    await register.getByLabel('Name', { exact: true }).fill(named);
    await register.getByLabel('Transport', { exact: true }).selectOption('stdio');
    await register.getByLabel('Command', { exact: true }).fill('npx');
    await register.getByLabel('Users (emails)').fill([people.stayer, people.leaver, people.quitter].map((person) => person.email).join(', '));
    await register.getByRole('button', { name: 'Register' }).click();
    expect(await register.getByRole('status').textContent()).toBe(`Registered ${named} (run on devices) with 0 declared tool(s).`);

    // The leaver's account is deleted; their scope entry stays behind, naming nobody.
    const { rows: deleted } = await pool().query<{ id: string }>('DELETE FROM users WHERE email = $1 RETURNING id', [people.leaver.email]);
    const removed = `user ${deleted[0]!.id} (removed)`;
    await page.goto(`${baseUrl}/mcp-servers?edit=${named}`);
    const editor = page.getByRole('form', { name: `Scope of ${named}` });
    await editor.waitFor();
    // Shown as removed, not preselected (posting it back would name nobody).
    expect(await editor.getByRole('note', { name: 'No longer active' }).textContent()).toContain(removed);
    const users = editor.getByLabel('Users (emails)');
    expect((await users.inputValue()).split(', ').sort()).toEqual([people.quitter.email, people.stayer.email].sort());

    // Nothing chosen: refused on the server with a clear error, audited, the scope left as it was.
    await users.fill('');
    await editor.getByRole('button', { name: 'Save scope' }).click();
    const refusal = await editor.getByRole('alert').textContent();
    expect(refusal).toContain('Choose who may use the server: everyone, a department, a role or a person');
    expect(refusal).toContain('to take it away from everyone, revoke it');
    const row = page.getByRole('row').filter({ hasText: named });
    expect(await row.textContent()).toContain(`user ${people.stayer.email}`);
    await shootIfAsked(page, 'mcp-server-scope-empty');

    // The quitter is deactivated while the editor still shows them: the save drops them and says so.
    await pool().query(`UPDATE users SET status = 'disabled' WHERE email = $1`, [people.quitter.email]);
    await users.fill([people.stayer.email, people.quitter.email].join(', '));
    await editor.getByRole('button', { name: 'Save scope' }).click();
    const saved = (await editor.getByRole('status').textContent()) ?? '';
    expect(saved).toContain(`${named} is now for user ${people.stayer.email}; clients converge at their next allowlist poll. Dropped, as they name nobody any more: `);
    expect(saved).toContain(removed);
    expect(saved).toContain(`user ${people.quitter.email} (deactivated)`);
    await row.filter({ hasNotText: 'removed' }).waitFor();
    expect(await row.textContent()).not.toContain(people.quitter.email);

    const { rows } = await pool().query<{ event: { action: string; outcome: string; call_source: string; attributes: Record<string, string> } }>(
      "SELECT event FROM audit_events WHERE event->'target'->>'name' = $1 ORDER BY occurred_at, seq",
      [named],
    );
    expect(rows.map((entry) => `${entry.event.action}:${entry.event.outcome}:${entry.event.call_source}`)).toEqual(['mcp.server.register:success:dashboard', 'mcp.server.update:denied:dashboard', 'mcp.server.update:success:dashboard']);
    expect(rows[1]!.event.attributes).toMatchObject({ reason: 'empty_scope' });
    expect(rows[2]!.event.attributes).toMatchObject({ scope: `user ${people.stayer.email}` });
    expect(rows[2]!.event.attributes.scope_dropped!.split(', ').sort()).toEqual([removed, `user ${people.quitter.email} (deactivated)`].sort());
  }, 180_000);
});
