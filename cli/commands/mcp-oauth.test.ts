import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pool } from '@/lib/db/client';
import { registerServer, type RegistryActor } from '@/lib/mcp/registry';
import { completeConnect, startConnect, type GrantActor } from '@/lib/mcp/upstream-oauth';
import { startFakeOAuthUpstream, type FakeOAuthUpstream } from '@/lib/mcp/upstream-oauth/testing/fake-provider';
import type { UserIdentity } from '@/lib/oauth/identity';
import { configureTestEnvironment, createTestUser } from '@/lib/oauth/test-harness';

const exec = promisify(execFile);
const tag = randomBytes(3).toString('hex');

// The real `gatehouse` launcher as a process of its own, which exits when the command returns.
async function gatehouse(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['cli/gatehouse.mjs', 'mcp', ...args], { env: process.env });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

let upstream: FakeOAuthUpstream;
let admin: UserIdentity;
let people: UserIdentity[];

function actorOf(user: UserIdentity): GrantActor {
  return { userId: user.userId, tenantId: user.tenantId, email: user.email, roles: user.roles };
}

/** `user` connects their account at `name`'s authorization server (consent there, Gatehouse's callback here). */
async function connect(user: UserIdentity, name: string): Promise<void> {
  const redirected = await fetch(await startConnect(actorOf(user), name), { redirect: 'manual', headers: { cookie: `as_user=${user.email}` } });
  const outcome = await completeConnect(new URL(redirected.headers.get('location')!), actorOf(user));
  expect(outcome.result).toBe('connected');
}

/** The per-grant revoke events the CLI's background revocation recorded for `name`. */
async function perGrantRevocations(name: string): Promise<{ outcome: string; revocation: string; grantUserId: string }[]> {
  const { rows } = await pool().query<{ outcome: string; event: { attributes?: Record<string, string> } }>(
    `SELECT outcome, event FROM audit_events WHERE event_type = 'mcp.upstream_grant' AND action = 'revoke' AND event->'mcp'->>'server' = $1 AND event->'attributes' ? 'grant_user_id' ORDER BY seq`,
    [name],
  );
  return rows.map((row) => ({ outcome: row.outcome, revocation: row.event.attributes!.upstream_revocation!, grantUserId: row.event.attributes!.grant_user_id! }));
}

async function registerAndConnect(name: string): Promise<void> {
  const actor: RegistryActor = { userId: admin.userId, tenantId: admin.tenantId, email: admin.email, roles: admin.roles, callSource: 'cli' };
  await registerServer(actor, { name, transport: 'streamable_http', url: upstream.mcpUrl, upstreamAuth: { type: 'oauth_user' }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
  for (const person of people) await connect(person, name);
}

beforeAll(async () => {
  configureTestEnvironment();
  upstream = await startFakeOAuthUpstream();
  admin = await createTestUser(['admin']);
  people = [await createTestUser(['member']), await createTestUser(['member'])];
});
afterAll(async () => {
  await upstream?.close();
});

describe('gatehouse mcp revoke / reset-oauth revoke the deleted grants at the provider before the process exits', () => {
  it('revoke: every grant is revoked at the provider and has its own audit event', async () => {
    const name = `cli-oauth-revoke-${tag}`;
    await registerAndConnect(name);
    const before = upstream.counts.revocations;
    const revoked = await gatehouse(['revoke', name, '--reason', 'contract ended', '--as', admin.email]);
    expect(revoked.code, revoked.stderr).toBe(0);
    // Each grant's refresh and access token.
    expect(upstream.counts.revocations - before).toBe(2 * people.length);
    const events = await perGrantRevocations(name);
    expect(events.map((event) => `${event.outcome}:${event.revocation}`)).toEqual(people.map(() => 'success:revoked'));
    expect(events.map((event) => event.grantUserId).sort()).toEqual(people.map((person) => person.userId).sort());
  }, 300_000);

  it('reset-oauth: every grant is revoked at the provider and has its own audit event', async () => {
    const name = `cli-oauth-reset-${tag}`;
    await registerAndConnect(name);
    const before = upstream.counts.revocations;
    const reset = await gatehouse(['reset-oauth', name, '--as', admin.email]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(upstream.counts.revocations - before).toBe(2 * people.length);
    const events = await perGrantRevocations(name);
    expect(events.map((event) => `${event.outcome}:${event.revocation}`)).toEqual(people.map(() => 'success:revoked'));
  }, 300_000);
});
