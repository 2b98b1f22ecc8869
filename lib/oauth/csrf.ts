import { createHmac } from 'node:crypto';
import { deriveSecret } from '@/lib/platform/secret';
import { installationSecret } from '@/lib/tokens/secret';
import { requestCookies, serializeCookie } from './http/cookies';
import { constantTimeEqual, randomToken } from './secrets';

/**
 * CSRF protection for the consent and device-approval forms: a signed double-submit token. The
 * same value goes in a cookie and in a hidden form field, and it carries an HMAC over the
 * signed-in user's id, so a value planted by a sibling site, or taken from another user's
 * session, does not verify.
 */

const COOKIE_MAX_AGE_SECONDS = 2 * 60 * 60;

function cookieName(secure: boolean): string {
  // The __Host- prefix pins the cookie to this exact host over https.
  return secure ? '__Host-gatehouse-oauth-csrf' : 'gatehouse-oauth-csrf';
}

async function mac(userId: string, nonce: string): Promise<string> {
  const key = deriveSecret(await installationSecret(), 'oauth-csrf');
  return createHmac('sha256', key).update(`${userId}.${nonce}`).digest('base64url');
}

async function isValidFor(value: string | undefined, userId: string): Promise<boolean> {
  if (!value) return false;
  const [nonce, signature, extra] = value.split('.');
  if (!nonce || !signature || extra !== undefined) return false;
  return constantTimeEqual(signature, await mac(userId, nonce));
}

export interface CsrfToken {
  token: string;
  /** Set when a new cookie must be sent with the page. */
  setCookie?: string;
}

/** The token to embed in a form for this user (reusing a valid cookie, so open tabs keep working). */
export async function csrfTokenFor(request: Request, userId: string, secure: boolean): Promise<CsrfToken> {
  const existing = requestCookies(request).get(cookieName(secure));
  if (existing && (await isValidFor(existing, userId))) return { token: existing };
  const nonce = randomToken(18);
  const token = `${nonce}.${await mac(userId, nonce)}`;
  return { token, setCookie: serializeCookie(cookieName(secure), token, { maxAgeSeconds: COOKIE_MAX_AGE_SECONDS, secure }) };
}

/**
 * Whether a form post carries this user's token in both places. A cross-site Origin header is
 * refused outright as well (browsers send one on every form POST).
 */
export async function checkCsrf(request: Request, submitted: string | undefined, userId: string, issuer: string): Promise<boolean> {
  const origin = request.headers.get('origin');
  if (origin && origin !== new URL(issuer).origin && origin !== new URL(request.url).origin) return false;
  const secure = issuer.startsWith('https://');
  const cookie = requestCookies(request).get(cookieName(secure));
  if (!submitted || !cookie || !constantTimeEqual(submitted, cookie)) return false;
  return isValidFor(cookie, userId);
}
