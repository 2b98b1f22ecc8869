// Test support for the identity plane (imported by *.test.ts only): a real HTTP server on
// 127.0.0.1 in front of routeOAuth, users, and dashboard session cookies minted the way
// next-auth's own callbacks shape them.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { encode } from 'next-auth/jwt';
import { serveWithWebHandler } from '@/lib/http/node-adapter';
import { listenOnLoopback } from '@/lib/platform/net';
import { db } from '@/lib/db/client';
import { ensureBuiltInRoles, ensureDepartment, ensureTenant } from '@/lib/users/tenant';
import { createUser } from '@/lib/users/users';
import { loadUserIdentity, type UserIdentity } from './identity';
import { routeOAuth } from './routes';

/**
 * Secrets every process of an installation shares. Test files run in parallel processes on one
 * database, so theirs are derived from the per-run database URL: the same in every process
 * (signing keys one process stored, another can open), different for every run.
 */
export function configureTestEnvironment(): void {
  const runSecret = (purpose: string) => createHash('sha256').update(`${purpose}:${process.env.DATABASE_URL}`).digest('base64url');
  process.env.GATEHOUSE_SECRET ||= runSecret('gatehouse');
  process.env.NEXTAUTH_SECRET ||= runSecret('nextauth');
  // Session cookies must be the http ones; the public URL is the test server's (servePublicly).
  delete process.env.GATEHOUSE_PUBLIC_URL;
  delete process.env.NEXTAUTH_URL;
}

/**
 * Makes a loopback test server the installation's public URL, as GATEHOUSE_PUBLIC_URL does in
 * production: the issuer and every audience are built from it (never from a request's Host).
 */
export function servePublicly(url: string): string {
  process.env.GATEHOUSE_PUBLIC_URL = url;
  return url;
}

export interface TestServer {
  url: string;
  close(): Promise<void>;
}

export async function startOAuthServer(): Promise<TestServer> {
  const server: Server = createServer((req, res) => {
    void serveWithWebHandler(req, res, (request) => routeOAuth(request) ?? Promise.resolve(new Response('not found', { status: 404 })));
  });
  const url = servePublicly(await listenOnLoopback(server));
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let tenantReady: Promise<unknown> | undefined;

/**
 * A fresh active user with the given roles (default: member), in the installation's tenant, or in
 * `tenantId` for a file whose work must touch no other file's tenant.
 */
export async function createTestUser(roles: string[] = ['member'], department?: string, tenantId?: string): Promise<UserIdentity> {
  const email = `oauth-${randomBytes(6).toString('hex')}@example.com`;
  let id: string;
  if (tenantId) {
    await ensureBuiltInRoles(tenantId);
    const bindings = await db().role.findMany({ where: { tenantId, name: { in: roles } }, select: { id: true } });
    const departmentId = department ? (await ensureDepartment(tenantId, department)).id : null;
    ({ id } = await db().user.create({ data: { tenantId, email, name: `Test ${email}`, departmentId, roleBindings: { create: bindings.map((role) => ({ roleId: role.id })) } } }));
  } else {
    // Test files run in parallel: the first ensureTenant of each may race on the tenant row.
    tenantReady ??= ensureTenant().catch(() => ensureTenant());
    await tenantReady;
    ({ id } = await createUser({ email, name: `Test ${email}`, roles, department }, { call_source: 'system' }));
  }
  const identity = await loadUserIdentity(id);
  if (!identity) throw new Error('created user not found');
  return identity;
}

/** The dashboard session cookie for a user, as next-auth's jwt callback writes it. */
export async function sessionCookie(user: UserIdentity): Promise<string> {
  const token = await encode({
    token: { sub: user.userId, uid: user.userId, email: user.email, name: user.name, tenantId: user.tenantId, roles: user.roles, departmentSlug: user.department },
    secret: process.env.NEXTAUTH_SECRET!,
  });
  return `next-auth.session-token=${token}`;
}

/** A random documentation-range address, so each test has its own per-IP rate-limit budget. */
export function randomTestIp(): string {
  const bytes = randomBytes(2);
  return `198.51.${bytes[0]}.${bytes[1]}`;
}

/** Cookies a response sets, as a Cookie header value to send back. */
export function cookiesFrom(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0]!)
    .join('; ');
}

/** The value of a hidden form input in one of our pages. */
export function hiddenInput(html: string, name: string): string | undefined {
  return new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html)?.[1];
}

/** Form POST helper. */
export function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
}
