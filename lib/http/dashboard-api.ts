// The one wrapper for the dashboard's JSON/CSV API (`/api/v1/...` under Next.js, signed in with
// the dashboard session): authenticate → RBAC → rate limit → parse → handler → error map → audit.
import { appendAuditEvent, countAuditEvent } from '@/lib/audit';
import { getDashboardUser, dashboardPrincipal, type DashboardUser } from '@/lib/auth/session';
import { readCappedText } from '@/lib/http/capped-body';
import { hitRateLimit } from '@/lib/oauth/rate-limit';
import { isRecord } from '@/lib/platform/json';
import { authorize } from '@/lib/rbac/authorize';
import { ForbiddenError } from '@/lib/rbac/errors';
import type { Permission } from '@/lib/rbac/permissions';
import { UserInputError } from '@/lib/users/tenant';

export type DashboardApiErrorType = 'unauthorized' | 'forbidden' | 'not_found' | 'invalid_request' | 'rate_limited' | 'internal_error';

const STATUS: Record<DashboardApiErrorType, number> = { unauthorized: 401, forbidden: 403, not_found: 404, invalid_request: 400, rate_limited: 429, internal_error: 500 };

/** The API's one error: `{"error": {"type": …, "message": …}}` with the type's status. */
export class DashboardApiError extends Error {
  constructor(
    readonly type: DashboardApiErrorType,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DashboardApiError';
  }

  toResponse(): Response {
    return Response.json({ error: { type: this.type, message: this.message } }, { status: STATUS[this.type], headers: { 'cache-control': 'no-store', ...this.headers } });
  }
}

export interface DashboardApiContext<Input> {
  request: Request;
  user: DashboardUser;
  input: Input;
}

export interface DashboardApiRoute<Input> {
  /** The audit action, e.g. `costs.export`. */
  action: string;
  /** Needed tenant-wide: these endpoints read the whole organisation. */
  permission: Permission;
  /** Requests per user and minute. */
  perMinute: number;
  /** Reads the request (a JSON body too); throw DashboardApiError('invalid_request', …) for bad input. */
  parse(request: Request): Input | Promise<Input>;
  handle(context: DashboardApiContext<Input>): Promise<Response>;
  /** What the success event records about the input (filters, range); nothing secret. */
  describe?(input: Input): Record<string, string | number | boolean>;
  /**
   * The handler's own capability records the change (with more detail than the wrapper knows),
   * so the wrapper adds no success event of its own; refusals are still recorded here.
   */
  auditedByHandler?: boolean;
}

function actorOf(user: DashboardUser) {
  return { user_id: user.id, email: user.email, roles: user.roles };
}

/**
 * A change requested from another site's page: a browser sends Origin with every POST, PATCH and
 * DELETE, and it must be this server (as Next checks for server actions). Requests without
 * Origin are not from a browser page. The session cookie's SameSite=Lax already keeps most
 * cross-site requests unsigned; this also covers sibling subdomains.
 */
function crossSite(request: Request): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return false;
  const origin = request.headers.get('origin');
  if (origin === null) return false;
  const host = request.headers.get('x-forwarded-host') ?? request.headers.get('host');
  try {
    return new URL(origin).host !== host;
  } catch {
    return true;
  }
}

export function dashboardApiRoute<Input>(route: DashboardApiRoute<Input>): (request: Request) => Promise<Response> {
  return async (request) => {
    try {
      if (crossSite(request)) throw new DashboardApiError('forbidden', 'this change was requested from another site');
      const user = await getDashboardUser();
      if (!user) throw new DashboardApiError('unauthorized', 'sign in to the dashboard first');
      if (!(await authorize(dashboardPrincipal(user), route.permission))) {
        // A refused user can retry in a loop: one counted event per user and minute.
        countAuditEvent({
          key: `dashboard-api:${user.tenantId}:${user.id}:${route.action}`,
          event: {
            tenant_id: user.tenantId,
            event_type: 'admin.change',
            action: route.action,
            outcome: 'denied',
            actor: actorOf(user),
            call_source: 'dashboard',
            attributes: { permission: route.permission, path: new URL(request.url).pathname },
          },
        });
        throw new DashboardApiError('forbidden', `this needs the ${route.permission} permission, granted tenant-wide`);
      }
      const limit = await hitRateLimit('dashboard-api', `${route.action}:${user.id}`, route.perMinute, 60);
      if (!limit.allowed) throw new DashboardApiError('rate_limited', `at most ${route.perMinute} requests a minute; try again in ${limit.retryAfterSeconds} s`, { 'retry-after': String(limit.retryAfterSeconds) });
      const input = await route.parse(request);
      const response = await route.handle({ request, user, input });
      if (route.auditedByHandler) return response;
      await appendAuditEvent({
        tenant_id: user.tenantId,
        event_type: 'admin.change',
        action: route.action,
        outcome: 'success',
        actor: actorOf(user),
        call_source: 'dashboard',
        attributes: route.describe?.(input) ?? {},
      });
      return response;
    } catch (error) {
      if (error instanceof DashboardApiError) return error.toResponse();
      // The capabilities' own refusals, checked again below the wrapper, in the API's shape.
      if (error instanceof UserInputError) return new DashboardApiError('invalid_request', error.message).toResponse();
      if (error instanceof ForbiddenError) return new DashboardApiError('forbidden', error.message).toResponse();
      console.error(`dashboard api: ${route.action} failed: ${error instanceof Error ? error.message : String(error)}`);
      return new DashboardApiError('internal_error', 'the request failed; the server log says why').toResponse();
    }
  };
}

/** The request's JSON object body, at most `maxBytes`; invalid_request when it is too large, not JSON or not an object. */
export async function jsonObjectBody(request: Request, maxBytes = 256 * 1024): Promise<Record<string, unknown>> {
  // Only JSON: a cross-site HTML form cannot send it without a CORS preflight, which nothing here answers.
  if (!/^application\/json\b/i.test(request.headers.get('content-type') ?? '')) throw new DashboardApiError('invalid_request', 'send the body as application/json');
  const text = await readCappedText(request, maxBytes);
  if (text === null) throw new DashboardApiError('invalid_request', `the body is larger than ${maxBytes} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new DashboardApiError('invalid_request', 'the body must be a JSON object');
  }
  if (!isRecord(body)) throw new DashboardApiError('invalid_request', 'the body must be a JSON object');
  return body as Record<string, unknown>;
}
