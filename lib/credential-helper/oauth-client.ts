import { isRecord } from '@/lib/platform/json';
import { failureReason, HelperError } from './errors';

/** The parts of the authorization server metadata (RFC 8414) the helper uses. */
export interface ServerMetadata {
  issuer: string;
  token_endpoint: string;
  device_authorization_endpoint: string;
  revocation_endpoint?: string;
}

export interface TokenSet {
  accessToken: string;
  refreshToken: string | null;
  /** Epoch seconds. */
  expiresAt: number;
}

export interface DeviceCodes {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | null;
  expiresIn: number;
  interval: number;
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** The longest any one request of the helper's waits (a run with a deadline may wait less). */
export const REQUEST_TIMEOUT_MS = 15_000;
/** Identifies the helper's sign-ins on the server (sessions list, audit). */
export const HELPER_SURFACE = 'gatehouse_helper';
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The server's origin, refusing anything that would send a token in clear text off this machine. */
export function normaliseServer(input: string, env: NodeJS.ProcessEnv = process.env): string {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new HelperError(`--server must be a URL such as https://gatehouse.example.com (got "${input}")`, 2);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new HelperError(`--server must be an http(s) URL (got "${input}")`, 2);
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname) && env.GATEHOUSE_HELPER_ALLOW_HTTP !== '1') {
    throw new HelperError(`refusing to send credentials to ${url.origin} without TLS: use https (or set GATEHOUSE_HELPER_ALLOW_HTTP=1 on a trusted network)`, 2);
  }
  return url.origin;
}

async function request(url: string, init: RequestInit, signal: AbortSignal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'error', signal });
  } catch (error) {
    throw new HelperError(`cannot reach ${new URL(url).origin}: ${failureReason(error)}`);
  }
}

async function json(response: Response, what: string): Promise<Record<string, unknown>> {
  const text = await response.text();
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed)) return parsed;
  } catch {
    // reported below
  }
  throw new HelperError(`${what} answered ${response.status} with something that is not a JSON object`);
}

function form(values: Record<string, string>): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: new URLSearchParams(values).toString() };
}

export async function discover(server: string, signal?: AbortSignal): Promise<ServerMetadata> {
  const response = await request(`${server}/.well-known/oauth-authorization-server`, { headers: { accept: 'application/json' } }, signal);
  if (!response.ok) throw new HelperError(`${server} is not a Gatehouse (metadata answered ${response.status})`);
  const metadata = await json(response, 'the authorization server metadata');
  const { token_endpoint, device_authorization_endpoint } = metadata;
  if (typeof token_endpoint !== 'string' || typeof device_authorization_endpoint !== 'string') {
    throw new HelperError(`${server} does not offer the device sign-in (no device_authorization_endpoint in its metadata)`);
  }
  return {
    issuer: String(metadata.issuer ?? server),
    token_endpoint,
    device_authorization_endpoint,
    revocation_endpoint: typeof metadata.revocation_endpoint === 'string' ? metadata.revocation_endpoint : undefined,
  };
}

function tokenSet(body: Record<string, unknown>): TokenSet {
  if (typeof body.access_token !== 'string' || !body.access_token) throw new HelperError('the token endpoint answered without an access_token');
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300;
  return {
    accessToken: body.access_token,
    refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : null,
    expiresAt: Math.floor(Date.now() / 1000) + expiresIn,
  };
}

/** An OAuth error answer: `invalid_grant` means the sign-in is over and only a new one helps. */
export class OAuthRefusal extends HelperError {
  constructor(
    readonly code: string,
    description: string,
  ) {
    super(description ? `${code}: ${description}` : code, code === 'invalid_grant' || code === 'access_denied' || code === 'expired_token' ? 3 : 1);
  }
}

async function tokenRequest(metadata: ServerMetadata, values: Record<string, string>, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const response = await request(metadata.token_endpoint, form(values), signal);
  const body = await json(response, 'the token endpoint');
  if (response.ok) return body;
  throw new OAuthRefusal(typeof body.error === 'string' ? body.error : `http_${response.status}`, typeof body.error_description === 'string' ? body.error_description : '');
}

export async function startDeviceAuthorization(metadata: ServerMetadata): Promise<DeviceCodes> {
  const response = await request(metadata.device_authorization_endpoint, form({ surface: HELPER_SURFACE }));
  const body = await json(response, 'the device authorization endpoint');
  if (!response.ok) throw new OAuthRefusal(typeof body.error === 'string' ? body.error : `http_${response.status}`, typeof body.error_description === 'string' ? body.error_description : '');
  if (typeof body.device_code !== 'string' || typeof body.user_code !== 'string' || typeof body.verification_uri !== 'string') {
    throw new HelperError('the device authorization endpoint answered without device_code, user_code and verification_uri');
  }
  return {
    deviceCode: body.device_code,
    userCode: body.user_code,
    verificationUri: body.verification_uri,
    verificationUriComplete: typeof body.verification_uri_complete === 'string' ? body.verification_uri_complete : null,
    expiresIn: typeof body.expires_in === 'number' ? body.expires_in : 600,
    interval: typeof body.interval === 'number' && body.interval > 0 ? body.interval : 5,
  };
}

/** Polls until the user approves (RFC 8628 §3.5: pending waits, slow_down adds five seconds). */
export async function pollDeviceAuthorization(metadata: ServerMetadata, codes: DeviceCodes, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<TokenSet> {
  let interval = codes.interval;
  const deadline = Date.now() + codes.expiresIn * 1000;
  while (Date.now() < deadline) {
    await sleep(interval * 1000);
    try {
      return tokenSet(await tokenRequest(metadata, { grant_type: DEVICE_GRANT, device_code: codes.deviceCode }));
    } catch (error) {
      if (!(error instanceof OAuthRefusal)) throw error;
      if (error.code === 'authorization_pending') continue;
      if (error.code === 'slow_down') {
        interval += 5;
        continue;
      }
      if (error.code === 'access_denied') throw new HelperError('the sign-in was denied in the browser', 3);
      if (error.code === 'expired_token') throw new HelperError('the sign-in code expired before it was approved; run the sign-in again', 3);
      throw error;
    }
  }
  throw new HelperError('the sign-in code expired before it was approved; run the sign-in again', 3);
}

export async function refresh(metadata: ServerMetadata, refreshToken: string, signal?: AbortSignal): Promise<TokenSet> {
  return tokenSet(await tokenRequest(metadata, { grant_type: 'refresh_token', refresh_token: refreshToken }, signal));
}

/** RFC 7009: best effort; a server that cannot be reached must not stop a local sign-out. */
export async function revoke(metadata: ServerMetadata, refreshToken: string): Promise<boolean> {
  if (!metadata.revocation_endpoint) return false;
  try {
    const response = await request(metadata.revocation_endpoint, form({ token: refreshToken, token_type_hint: 'refresh_token' }));
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Asks the gateway about a token with a cheap authenticated call: whether it refuses it (401: the
 * sign-in was revoked or the token is otherwise dead) and which policy version it enforces (the
 * `x-policy-version` header). Unreachable: neither is known.
 */
export async function probeToken(server: string, accessToken: string, signal?: AbortSignal): Promise<{ rejected: boolean; policyVersion: string | null }> {
  try {
    const response = await request(`${server}/v1/models?limit=1`, { headers: { authorization: `Bearer ${accessToken}` } }, signal);
    await response.body?.cancel();
    return { rejected: response.status === 401, policyVersion: response.headers.get('x-policy-version') };
  } catch {
    return { rejected: false, policyVersion: null };
  }
}
