// The registry's REST API under /api/v1/mcp/servers, for the dashboard session (mcp.admin held
// tenant-wide) through the one dashboard-API wrapper. Changes are recorded by the registry itself
// (admin.change, mcp.server.*); reads by the wrapper. Automation uses the CLI (`gatehouse mcp`)
// on the server, which acts as a named administrator: access tokens minted for Claude clients
// never reach these endpoints.
import type { DashboardUser } from '@/lib/auth/session';
import { DashboardApiError, dashboardApiRoute, jsonObjectBody } from '@/lib/http/dashboard-api';
import { getServerByName, listServers, serverVersions } from './read';
import { approveVersion, checkServer, registerServer, rejectVersion, revokeServer, updateServer } from './registry';
import { SERVER_NAME, type RegisterServerInput, type UpdateServerInput } from './validate';
import type { RegistryActor } from './types';

export const SERVERS_PATH = '/api/v1/mcp/servers';
const PER_MINUTE = { read: 120, write: 30, check: 20 } as const;

function actorOf(user: DashboardUser): RegistryActor {
  return { userId: user.id, tenantId: user.tenantId, email: user.email, roles: user.roles, callSource: 'dashboard' };
}

/** The {name} segment of /api/v1/mcp/servers/{name}[/…]. */
function serverName(request: Request): string {
  const segments = new URL(request.url).pathname.slice(SERVERS_PATH.length + 1).split('/');
  let name: string;
  try {
    name = decodeURIComponent(segments[0] ?? '');
  } catch {
    name = '';
  }
  if (!SERVER_NAME.test(name)) throw new DashboardApiError('not_found', 'no MCP server by that name (names are lowercase letters, digits and dashes)');
  return name;
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new DashboardApiError('invalid_request', `${key} must be a string`);
  return value;
}

function optionalVersion(body: Record<string, unknown>): number | undefined {
  const value = body.version;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new DashboardApiError('invalid_request', 'version must be a positive integer');
  return value;
}

const json = (body: unknown, status = 200) => Response.json(body, { status, headers: { 'cache-control': 'no-store' } });

/** GET /api/v1/mcp/servers: every server, revoked ones included. */
export const listRoute = dashboardApiRoute<null>({
  action: 'mcp.servers.list',
  permission: 'mcp.admin',
  perMinute: PER_MINUTE.read,
  parse: () => null,
  handle: async ({ user }) => json({ servers: await listServers(user.tenantId) }),
});

/** POST /api/v1/mcp/servers: register (body as RegisterServerInput); 201 with the server and its first check. */
export const createRoute = dashboardApiRoute<Record<string, unknown>>({
  action: 'mcp.server.register',
  permission: 'mcp.admin',
  perMinute: PER_MINUTE.write,
  auditedByHandler: true,
  parse: (request) => jsonObjectBody(request),
  handle: async ({ user, input }) => json({ server: await registerServer(actorOf(user), input as RegisterServerInput) }, 201),
});

/** GET /api/v1/mcp/servers/{name}: the server and every tool list it has had. */
export const getRoute = dashboardApiRoute<string>({
  action: 'mcp.server.read',
  permission: 'mcp.admin',
  perMinute: PER_MINUTE.read,
  parse: serverName,
  handle: async ({ user, input }) => {
    const server = await getServerByName(user.tenantId, input);
    if (!server) throw new DashboardApiError('not_found', `no MCP server named ${input}`);
    return json({ server, versions: await serverVersions(server) });
  },
  describe: (name) => ({ server: name }),
});

/** PATCH /api/v1/mcp/servers/{name}: {description?, scope?} (scope replaces the whole list). */
export const patchRoute = dashboardApiRoute<{ name: string; body: Record<string, unknown> }>({
  action: 'mcp.server.update',
  permission: 'mcp.admin',
  perMinute: PER_MINUTE.write,
  auditedByHandler: true,
  parse: async (request) => ({ name: serverName(request), body: await jsonObjectBody(request) }),
  handle: async ({ user, input }) => json({ server: await updateServer(actorOf(user), input.name, input.body as UpdateServerInput) }),
});

type ServerAction = 'check' | 'approve' | 'reject' | 'revoke';

/** POST /api/v1/mcp/servers/{name}/{check|approve|reject|revoke}. */
export function actionRoute(action: ServerAction) {
  return dashboardApiRoute<{ name: string; body: Record<string, unknown> }>({
    action: `mcp.server.${action}`,
    permission: 'mcp.admin',
    perMinute: action === 'check' ? PER_MINUTE.check : PER_MINUTE.write,
    auditedByHandler: true,
    parse: async (request) => ({ name: serverName(request), body: await bodyOrEmpty(request) }),
    handle: async ({ user, input }) => {
      const actor = actorOf(user);
      const { name, body } = input;
      switch (action) {
        case 'check': {
          const { server, ...check } = await checkServer(actor, name);
          return json({ check, server });
        }
        case 'approve':
          return json({ server: await approveVersion(actor, name, optionalVersion(body), optionalString(body, 'comment') ?? '') });
        case 'reject':
          return json({ server: await rejectVersion(actor, name, optionalVersion(body), optionalString(body, 'comment') ?? '') });
        case 'revoke':
          return json({ server: await revokeServer(actor, name, optionalString(body, 'reason') ?? '') });
      }
    },
  });
}

/** Actions take an optional JSON body: none (or empty) reads as {}. */
async function bodyOrEmpty(request: Request): Promise<Record<string, unknown>> {
  const hasBody = request.headers.get('content-length') !== '0' && (request.headers.has('content-length') || request.headers.has('transfer-encoding'));
  return hasBody ? jsonObjectBody(request) : {};
}
