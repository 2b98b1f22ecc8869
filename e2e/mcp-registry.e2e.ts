import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, pool } from '@/lib/db/client';
import { DEFAULT_TOOLS, startFakeUpstream, type FakeUpstream } from '@/lib/mcp/registry/testing/upstream-server';
import { createUser } from '@/lib/users/users';

// The registry's REST API as the dashboard calls it: the session cookie of a password sign-in
// (the sign-in form's own requests), mcp.admin, JSON in and out, against a real MCP server (SDK,
// Streamable HTTP) on loopback.
const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

const suffix = randomBytes(3).toString('hex');
const name = `e2e-docs-${suffix}`;
const secret = `e2e-upstream-${randomBytes(12).toString('hex')}`;
const member = { email: `mcp.member.${suffix}@example.org`, password: `member-${randomBytes(9).toString('base64url')}` };
let upstream: FakeUpstream;

beforeAll(async () => {
  process.env.DATABASE_URL = inject('e2eDatabaseUrl');
  upstream = await startFakeUpstream();
  upstream.requireAuthorization = `Bearer ${secret}`;
  await createUser({ email: member.email, name: 'Mcp Member', roles: ['member'], department: 'Research', password: member.password }, { call_source: 'system' });
});

afterAll(async () => {
  await upstream?.close();
  await closeAuditWriter();
  await closeDatabase();
});

interface ServerBody {
  name: string;
  status: string;
  hasSecret: boolean;
  scope: { label: string }[];
  approvedVersion: { version: number; tools: { name: string }[] } | null;
  pendingVersion: { version: number } | null;
}

/** What the sign-in form sends; returns the session cookie. */
async function signIn(email: string, password: string): Promise<string> {
  const csrf = await fetch(`${baseUrl}/api/auth/csrf`);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const cookie = csrf.headers
    .getSetCookie()
    .map((value) => value.split(';')[0])
    .join('; ');
  const response = await fetch(`${baseUrl}/api/auth/callback/credentials`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrfToken, email, password, callbackUrl: `${baseUrl}/`, json: 'true' }),
    redirect: 'manual',
  });
  const session = response.headers.getSetCookie().find((value) => value.startsWith('next-auth.session-token='));
  if (!session) throw new Error(`sign-in as ${email} failed: ${response.status} ${await response.text()}`);
  return session.split(';')[0]!;
}

type Session = { cookie: string };

async function call(session: Session, method: string, path: string, data?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}/api/v1/mcp/servers${path}`, {
    method,
    headers: { cookie: session.cookie, ...(data !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(data !== undefined ? { body: typeof data === 'string' ? data : JSON.stringify(data) } : {}),
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as Record<string, unknown> };
}

describe('/api/v1/mcp/servers', () => {
  it('registers, lists, rescopes, checks drift, approves and revokes as a signed-in administrator', async () => {
    const api = { cookie: await signIn(adminEmail, adminPassword) };

    const created = await call(api, 'POST', '', {
      name,
      transport: 'streamable_http',
      url: upstream.mcpUrl,
      allowPrivateNetwork: true,
      description: 'Docs for research',
      upstreamAuth: { type: 'static_secret', secret },
      scope: [{ kind: 'department', value: 'Research' }],
    });
    expect(created.status, created.text).toBe(201);
    expect(created.text).not.toContain(secret);
    expect(created.body.server).toMatchObject({ name, status: 'active', hasSecret: true, approvedVersion: { version: 1 } });

    const refused = await call(api, 'POST', '', { name: `${name}-lan`, transport: 'streamable_http', url: upstream.mcpUrl, scope: [] });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ type: 'invalid_request', message: expect.stringContaining('the URL is refused: its address is not public (loopback') });
    expect((await call(api, 'POST', '', '{"name":')).body.error).toMatchObject({ type: 'invalid_request', message: 'the body must be a JSON object' });
    expect((await call(api, 'POST', '', '{}', { 'content-type': 'text/plain' })).body.error).toMatchObject({ type: 'invalid_request', message: 'send the body as application/json' });
    const invalid = await call(api, 'POST', '', { name: 'Not A Name', transport: 'sse', url: upstream.sseUrl });
    expect(invalid.body.error).toMatchObject({ type: 'invalid_request', message: expect.stringContaining('name: must be 1-63 lowercase letters') });

    const listed = await call(api, 'GET', '');
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(secret);
    expect((listed.body.servers as ServerBody[]).find((server) => server.name === name)).toMatchObject({ description: 'Docs for research', scope: [{ label: 'department research' }] });

    const patched = await call(api, 'PATCH', `/${name}`, { scope: [{ kind: 'everyone' }], description: 'Docs for all' });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.server).toMatchObject({ description: 'Docs for all', scope: [{ label: 'everyone' }] });

    upstream.setTools([...DEFAULT_TOOLS, { name: 'export_all', description: 'Export everything', args: ['target'] }]);
    const checked = await call(api, 'POST', `/${name}/check`);
    expect(checked.status, checked.text).toBe(200);
    expect(checked.body.check).toMatchObject({ ok: true, result: 'drift', drift: { version: 2, added: ['export_all'] } });
    const held = await call(api, 'GET', `/${name}`);
    expect(held.body.server).toMatchObject({ approvedVersion: { version: 1 }, pendingVersion: { version: 2 } });
    expect((held.body.versions as { version: number; status: string }[]).map((version) => `${version.version}:${version.status}`)).toEqual(['2:pending', '1:approved']);

    const approved = await call(api, 'POST', `/${name}/approve`, { version: 2, comment: 'export reviewed' });
    expect(approved.status, approved.text).toBe(200);
    expect((approved.body.server as ServerBody).approvedVersion?.tools.map((tool) => tool.name)).toEqual(['delete_doc', 'export_all', 'search_docs']);
    const again = await call(api, 'POST', `/${name}/approve`, { version: 2 });
    expect(again.body.error).toMatchObject({ type: 'invalid_request', message: expect.stringContaining('is approved, not waiting for review') });

    // Another site's page cannot make the signed-in administrator's browser change the registry.
    const forged = await call(api, 'POST', `/${name}/revoke`, { reason: 'forged' }, { origin: 'https://evil.example' });
    expect(forged.status).toBe(403);
    expect(forged.body.error).toMatchObject({ type: 'forbidden', message: 'this change was requested from another site' });

    const revoked = await call(api, 'POST', `/${name}/revoke`, { reason: 'moved to the vendor’s hosted server' });
    expect(revoked.body.server).toMatchObject({ status: 'revoked' });
    expect((await call(api, 'GET', '/no-such-server')).status).toBe(404);

    // The registry records each change once, as made in the dashboard; secrets never.
    const { rows } = await pool().query<{ event: { action: string; outcome: string; call_source: string } }>("SELECT event FROM audit_events WHERE event->'target'->>'name' = $1 ORDER BY occurred_at, seq", [name]);
    expect(rows.map((row) => `${row.event.action}:${row.event.outcome}:${row.event.call_source}`)).toEqual([
      'mcp.server.register:success:dashboard',
      'mcp.server.update:success:dashboard',
      'mcp.server.check:success:dashboard',
      'mcp.server.approve:success:dashboard',
      'mcp.server.revoke:success:dashboard',
    ]);
    expect(JSON.stringify(rows)).not.toContain(secret);
  });

  it('refuses a member (403) and a request without a session (401)', async () => {
    const anonymous = await fetch(`${baseUrl}/api/v1/mcp/servers`);
    expect(anonymous.status).toBe(401);
    const session = { cookie: await signIn(member.email, member.password) };
    const refused = await call(session, 'POST', '', { name: `${name}-x`, transport: 'sse', url: upstream.sseUrl });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ type: 'forbidden', message: 'this needs the mcp.admin permission, granted tenant-wide' });
    expect((await call(session, 'GET', '')).status).toBe(403);
  });
});
