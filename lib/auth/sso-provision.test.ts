import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { ssoSection } from '@/lib/config/schema/sso';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { ensureBuiltInRoles } from '@/lib/users/tenant';
import { readSsoIdentity } from './sso-claims';
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

function identity(email: string, groups: string[], department = 'R&D') {
  return readSsoIdentity(provider, { sub: `sub-${email}`, email, email_verified: true, name: 'Grace Hopper', department, realm_access: { roles: groups } });
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
    expect(readSsoIdentity(provider, { sub: 's', email: 'Ada@Acme.Example', name: ['Ada'], department: 'R&D', realm_access: { roles: ['a', 'a', 7, 'b'] } })).toEqual({
      subject: 's',
      email: 'ada@acme.example',
      emailVerified: true,
      name: 'Ada',
      departmentValue: 'R&D',
      groups: ['a', 'b'],
    });
    expect(readSsoIdentity(provider, { sub: 's', email_verified: false }).emailVerified).toBe(false);
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
    expect(recorded[1]!.event.attributes).toMatchObject({ method: 'sso', provider: 'okta', jit_created: true });
  });

  it('refuses disabled users, other domains and unverified addresses, and records each attempt', async () => {
    const email = `disabled-${randomUUID().slice(0, 8)}@acme.example`;
    await db().user.create({ data: { tenantId, email, name: 'Off', status: 'disabled' } });
    expect(await provisionSsoUser(provider, identity(email, []), { tenantId })).toEqual({ ok: false, reason: 'disabled' });
    expect((await events(email)).map((row) => [row.event_type, row.outcome, row.event.attributes?.reason])).toEqual([['auth.sign_in', 'denied', 'disabled']]);

    const outsider = `mallory-${randomUUID().slice(0, 8)}@elsewhere.example`;
    expect(await provisionSsoUser(provider, identity(outsider, ['gh-admins']), { tenantId })).toEqual({ ok: false, reason: 'domain_not_allowed' });
    expect(await db().user.findUnique({ where: { email: outsider } })).toBeNull();

    const unverified = readSsoIdentity(provider, { sub: 'u', email: `u-${randomUUID().slice(0, 8)}@acme.example`, email_verified: false });
    expect(await provisionSsoUser(provider, unverified, { tenantId })).toEqual({ ok: false, reason: 'email_unverified' });
    expect(await provisionSsoUser(provider, readSsoIdentity(provider, { sub: 'n' }), { tenantId })).toEqual({ ok: false, reason: 'no_email' });
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
