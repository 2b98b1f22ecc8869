import { signInPath } from '@/lib/auth/callback-url';
import { signedInUser } from '../browser-session';
import { clientIp } from '@/lib/http/client-ip';
import { oauthSettings } from '../config';
import { checkCsrf, csrfTokenFor } from '../csrf';
import { decideDeviceAuthorization, findPendingDeviceAuthorization, formatUserCode, normalizeUserCode, type PendingDeviceAuthorization } from '../device';
import { deviceConfirmPage, deviceEntryPage, deviceResultPage } from '../html/device';
import { errorPage } from '../html/layout';
import type { UserIdentity } from '../identity';
import { configuredIssuer } from '../issuer';
import { hitRateLimit } from '../rate-limit';
import { readForm } from './body';

const SURFACE_NAMES: Record<string, string> = { claude_code: 'Claude Code' };

function applicationName(pending: Pick<PendingDeviceAuthorization, 'client' | 'surface'>): string {
  if (pending.client) return pending.client.name;
  return (pending.surface && SURFACE_NAMES[pending.surface]) || pending.surface || 'An unidentified application';
}

const NOT_FOUND = 'That code is not valid, has expired, or was already used. Check the code, or start signing in again.';

/** RFC 8628 §5.1: every code looked up or submitted counts against the address. */
async function withinEntryLimit(request: Request): Promise<Response | null> {
  const limit = await hitRateLimit('device_code_entry', clientIp(request) ?? 'unknown', oauthSettings().deviceCodeEntriesPerIpPerMinute, 60);
  if (limit.allowed) return null;
  const response = errorPage('Too many attempts', 'Too many codes were entered from your network. Wait a minute and try again.', 429);
  response.headers.set('retry-after', String(limit.retryAfterSeconds));
  return response;
}

async function showCode(request: Request, user: UserIdentity, issuer: string, typed: string): Promise<Response> {
  const limited = await withinEntryLimit(request);
  if (limited) return limited;
  const code = normalizeUserCode(typed);
  const pending = code ? await findPendingDeviceAuthorization(code) : null;
  if (!pending) return deviceEntryPage({ value: typed.slice(0, 16), error: NOT_FOUND, status: 400 });
  const csrf = await csrfTokenFor(request, user.userId, issuer.startsWith('https://'));
  return deviceConfirmPage({
    userCode: formatUserCode(pending.userCode),
    applicationName: applicationName(pending),
    requestedFrom: pending.requestIp,
    requestedAt: pending.createdAt,
    userEmail: user.email,
    csrfToken: csrf.token,
    setCookie: csrf.setCookie,
  });
}

async function decide(request: Request, user: UserIdentity, issuer: string): Promise<Response> {
  const form = await readForm(request).catch(() => new URLSearchParams());
  if (!(await checkCsrf(request, form.get('csrf') ?? undefined, user.userId, issuer))) {
    return errorPage('This form has expired', 'Open the link from the application again, or enter the code again.', 403);
  }
  const limited = await withinEntryLimit(request);
  if (limited) return limited;
  const code = normalizeUserCode(form.get('user_code'));
  const decision = form.get('decision');
  if (decision !== 'approve' && decision !== 'deny') return deviceEntryPage({ value: form.get('user_code')?.slice(0, 16), error: 'Choose Approve or Deny.', status: 400 });
  const pending = code ? await findPendingDeviceAuthorization(code) : null;
  if (!pending || !code || !(await decideDeviceAuthorization(code, user, decision === 'approve', request))) {
    return deviceEntryPage({ value: form.get('user_code')?.slice(0, 16), error: NOT_FOUND, status: 400 });
  }
  return deviceResultPage(decision === 'approve', applicationName(pending));
}

/**
 * GET/POST /device: the verification page. The signed-in user types (or follows a link with) the
 * code, sees what is asking, and clicks Approve or Deny; the POST is CSRF-protected.
 */
export async function handleDevicePage(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const user = await signedInUser(request);
  if (!user) {
    return new Response(null, { status: 302, headers: { location: signInPath(`${url.pathname}${url.search}`), 'cache-control': 'no-store' } });
  }
  const issuer = configuredIssuer();
  if (request.method === 'POST') return decide(request, user, issuer);
  const typed = url.searchParams.get('user_code');
  return typed ? showCode(request, user, issuer, typed) : deviceEntryPage();
}
