import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { usersCommand } from '@/cli/commands/users';
import { closeAuditWriter } from '@/lib/audit';
import { ssoSection } from '@/lib/config/schema/sso';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { ensureBuiltInRoles } from '@/lib/users/tenant';
import { hashPassword } from './password';
import { readSsoIdentity } from './sso-claims';
import { linkSsoIdentity } from './sso-identities';
import { provisionSsoUser } from './sso-provision';

let tenantId: string;

const provider = ssoSection.parse({
  providers: [
    {
      id: 'okta',
      name: 'Okta',
      issuer: 'https://acme.okta.example/',
      client_id: 'gatehouse',
      client_secret_env: 'OKTA_CLIENT_SECRET',
      claims: { groups: 'realm_access.roles' },
      department_map: { 'R&D': 'research' },
      role_map: { 'gh-admins': 'admin', 'gh-authors': 'author' },
      default_roles: ['member'],
      allowed_domains: ['acme.example'],
    },
  ],
}).providers[0]!;

beforeAll(async () => {
  tenantId = (await db().tenant.create({ data: { slug: `sso-${randomUUID().slice(0, 8)}`, name: 'SSO tests' } })).id;
  await ensureBuiltInRoles(tenantId);
});

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

const ISSUER = 'https://acme.okta.example';

function identity(email: string, groups: string[], department = 'R&D', sub = `sub-${email}`) {
  return readSsoIdentity(provider, { iss: `${ISSUER}/`, sub, email, email_verified: true, name: 'Grace Hopper', department, realm_access: { roles: groups } });
}

function newEmail(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}@acme.example`;
}

async function bindingsOf(userId: string) {
  return db().userSsoIdentity.findMany({ where: { userId }, select: { issuer: true, subject: true, providerId: true, email: true } });
}

async function events(email: string) {
  const result = await pool().query<{ event_type: string; action: string; outcome: string; event: { attributes?: Record<string, unknown> } }>(
    `SELECT event_type, action, outcome, event FROM audit_events WHERE tenant_id = $1 AND (event->'actor'->>'email' = $2 OR event->'target'->>'name' = $2) ORDER BY seq`,
    [tenantId, email],
  );
  return result.rows;
}

describe('SSO provisioning', () => {
  it('reads configured, nested and list-valued claims', () => {
    expect(readSsoIdentity(provider, { iss: `${ISSUER}/`, sub: 's', email: 'Ada@Acme.Example', email_verified: true, name: ['Ada'], department: 'R&D', realm_access: { roles: ['a', 'a', 7, 'b'] } })).toEqual({
      issuer: ISSUER,
      subject: 's',
      email: 'ada@acme.example',
      emailVerified: true,
      name: 'Ada',
      departmentValue: 'R&D',
      groups: ['a', 'b'],
    });
    // Verified only when the IdP says so; saying nothing is not saying yes.
    expect(readSsoIdentity(provider, { sub: 's', email_verified: 'true' }).emailVerified).toBe(true);
    expect(readSsoIdentity(provider, { sub: 's', email_verified: false }).emailVerified).toBe(false);
    expect(readSsoIdentity(provider, { sub: 's', email: 'a@acme.example' }).emailVerified).toBe(false);
    expect(readSsoIdentity(provider, { sub: 's' }).issuer).toBe(ISSUER);
    expect(provider.issuer).toBe('https://acme.okta.example');
    expect(provider.scopes).toEqual(['openid', 'email', 'profile']);
  });

  it('creates the user on first sign-in in the mapped department and roles, and syncs them on the next', async () => {
    const email = `grace-${randomUUID().slice(0, 8)}@acme.example`;
    const first = await provisionSsoUser(provider, identity(email, ['gh-authors', 'unrelated']), { tenantId, origin: { ip: '203.0.113.9', userAgent: 'test' } });
    expect(first).toMatchObject({ ok: true, created: true, rolesAdded: ['author', 'member'] });
    if (!first.ok) return;
    expect(first.user).toMatchObject({ email, name: 'Grace Hopper', tenantId, departmentSlug: 'research', roles: ['author', 'member'] });

    // An administrator's own grants are not the IdP's to take away.
    const security = await db().role.findUniqueOrThrow({ where: { tenantId_name: { tenantId, name: 'security' } } });
    await db().roleBinding.create({ data: { userId: first.user.id, roleId: security.id } });

    const second = await provisionSsoUser(provider, identity(email, ['gh-admins'], 'Unmapped'), { tenantId });
    expect(second).toMatchObject({ ok: true, created: false, rolesAdded: ['admin'], rolesRemoved: ['author'] });
    if (!second.ok) return;
    // An unmapped department value leaves the department as it was.
    expect(second.user.departmentSlug).toBe('research');
    expect(second.user.roles).toEqual(['admin', 'member', 'security']);

    const recorded = await events(email);
    expect(recorded.map((row) => `${row.event_type} ${row.action} ${row.outcome}`)).toEqual([
      'admin.change user.create success',
      'auth.sign_in session.create success',
      'admin.change user.sso_sync success',
      'auth.sign_in session.create success',
    ]);
    expect(recorded[1]!.event.attributes).toMatchObject({ method: 'sso', provider: 'okta', jit_created: true, idp_issuer: ISSUER, idp_subject: `sub-${email}` });
    expect(await bindingsOf(first.user.id)).toEqual([{ issuer: ISSUER, subject: `sub-${email}`, providerId: 'okta', email }]);
  });

  it('refuses an address the IdP does not say it verified, whether it says false or nothing', async () => {
    for (const claims of [{ email_verified: false }, {}, { email_verified: 'yes' }]) {
      const email = newEmail('unverified');
      const attempt = readSsoIdentity(provider, { iss: ISSUER, sub: `sub-${email}`, email, ...claims });
      expect(await provisionSsoUser(provider, attempt, { tenantId }), JSON.stringify(claims)).toEqual({ ok: false, reason: 'email_unverified' });
      expect(await db().user.findUnique({ where: { email } })).toBeNull();
      expect((await events(email)).map((row) => [row.outcome, row.event.attributes?.reason])).toEqual([['failure', 'email_unverified']]);
    }
  });

  it('never signs in to a password account through an IdP that has the same address, until an administrator links them', async () => {
    const email = newEmail('ada');
    const local = await db().user.create({ data: { tenantId, email, name: 'Ada Local', passwordHash: await hashPassword('correct horse battery staple') } });

    expect(await provisionSsoUser(provider, identity(email, ['gh-admins']), { tenantId })).toEqual({ ok: false, reason: 'account_exists' });
    expect(await bindingsOf(local.id)).toEqual([]);
    expect(await db().roleBinding.count({ where: { userId: local.id } })).toBe(0);
    const [refusal] = await events(email);
    expect(refusal).toMatchObject({ event_type: 'auth.sign_in', outcome: 'denied', event: { attributes: { reason: 'account_exists', idp_issuer: ISSUER, idp_subject: `sub-${email}` } } });
    const command = String(refusal!.event.attributes?.link_command);
    expect(command).toBe(`gatehouse users link-sso --email ${email} --provider okta --issuer ${ISSUER} --subject sub-${email}`);

    // What the refusal tells the administrator to run, run: from then on the IdP account is this user.
    const [, , ...args] = command.split(' ');
    const printed = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await usersCommand(args)).toBe(0);
    printed.mockRestore();
    const linked = await provisionSsoUser(provider, identity(email, ['gh-authors']), { tenantId });
    expect(linked).toMatchObject({ ok: true, created: false, user: { id: local.id, email } });
    expect((await db().user.findUniqueOrThrow({ where: { id: local.id } })).passwordHash).not.toBeNull();
    // Another IdP account claiming the same address still gets nowhere.
    expect(await provisionSsoUser(provider, identity(email, [], 'R&D', 'someone-else'), { tenantId })).toEqual({ ok: false, reason: 'account_exists' });
    await expect(linkSsoIdentity({ email: newEmail('other'), providerId: 'okta', issuer: ISSUER, subject: `sub-${email}` }, { call_source: 'cli' })).rejects.toThrow(/no user|already linked/);
  });

  it('keeps an IdP account on its user when the IdP changes the address, and the address follows', async () => {
    const before = newEmail('grace');
    const after = newEmail('grace.hopper');
    const first = await provisionSsoUser(provider, identity(before, [], 'R&D', `sub-${before}`), { tenantId });
    if (!first.ok) throw new Error(`first sign-in refused: ${first.reason}`);

    const second = await provisionSsoUser(provider, identity(after, [], 'R&D', `sub-${before}`), { tenantId });
    expect(second).toMatchObject({ ok: true, created: false, user: { id: first.user.id, email: after } });
    expect(await db().user.findUnique({ where: { email: before } })).toBeNull();
    expect(await bindingsOf(first.user.id)).toEqual([{ issuer: ISSUER, subject: `sub-${before}`, providerId: 'okta', email: after }]);
    const sync = (await events(after)).find((row) => row.action === 'user.sso_sync');
    expect(sync?.event.attributes).toMatchObject({ email_from: before, email_to: after });

    // The same subject at another issuer is another person.
    const elsewhere = readSsoIdentity(provider, { iss: 'https://other-idp.example', sub: `sub-${before}`, email: after, email_verified: true });
    expect(await provisionSsoUser(provider, elsewhere, { tenantId })).toEqual({ ok: false, reason: 'account_exists' });
  });

  it('binds an account that can sign in no other way (no password, no IdP account yet) at its first single sign-on', async () => {
    const email = newEmail('provisioned');
    const provisioned = await db().user.create({ data: { tenantId, email, name: 'Pre-provisioned' } });
    expect(await provisionSsoUser(provider, identity(email, []), { tenantId })).toMatchObject({ ok: true, created: false, user: { id: provisioned.id } });
    expect(await bindingsOf(provisioned.id)).toEqual([{ issuer: ISSUER, subject: `sub-${email}`, providerId: 'okta', email }]);
  });

  it('refuses disabled users, other domains and missing claims, and records each attempt', async () => {
    const email = `disabled-${randomUUID().slice(0, 8)}@acme.example`;
    await db().user.create({ data: { tenantId, email, name: 'Off', status: 'disabled' } });
    expect(await provisionSsoUser(provider, identity(email, []), { tenantId })).toEqual({ ok: false, reason: 'disabled' });
    expect((await events(email)).map((row) => [row.event_type, row.outcome, row.event.attributes?.reason])).toEqual([['auth.sign_in', 'denied', 'disabled']]);

    const outsider = `mallory-${randomUUID().slice(0, 8)}@elsewhere.example`;
    expect(await provisionSsoUser(provider, identity(outsider, ['gh-admins']), { tenantId })).toEqual({ ok: false, reason: 'domain_not_allowed' });
    expect(await db().user.findUnique({ where: { email: outsider } })).toBeNull();

    expect(await provisionSsoUser(provider, readSsoIdentity(provider, { sub: 'n', email_verified: true }), { tenantId })).toEqual({ ok: false, reason: 'no_email' });
    expect(await provisionSsoUser(provider, readSsoIdentity(provider, { email: newEmail('nosub'), email_verified: true }), { tenantId })).toEqual({ ok: false, reason: 'no_subject' });
  });

  it('rejects SSO configuration mistakes at load time', () => {
    const base = { id: 'x', name: 'X', issuer: 'https://idp.example', client_id: 'c', client_secret_env: 'X_SECRET' };
    expect(ssoSection.safeParse({ providers: [{ ...base, issuer: 'http://idp.example' }] }).success).toBe(false);
    expect(ssoSection.safeParse({ providers: [{ ...base, issuer: 'http://127.0.0.1:9999' }] }).success).toBe(true);
    expect(ssoSection.safeParse({ providers: [{ ...base, scopes: ['email'] }] }).success).toBe(false);
    expect(ssoSection.safeParse({ providers: [base, base] }).success).toBe(false);
    expect(ssoSection.safeParse({ providers: [{ ...base, client_secret: 'inline' }] }).success).toBe(false);
  });
});
