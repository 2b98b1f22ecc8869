import { decode } from 'next-auth/jwt';
import { requestCookies } from './http/cookies';
import { loadUserIdentity, type UserIdentity } from './identity';

// next-auth's session cookie: `__Secure-` on https; split into `.0`, `.1`, … when large.
const SESSION_COOKIES = ['__Secure-next-auth.session-token', 'next-auth.session-token'];

function sessionCookie(request: Request): string | null {
  const cookies = requestCookies(request);
  for (const name of SESSION_COOKIES) {
    const whole = cookies.get(name);
    if (whole) return whole;
    const chunks: string[] = [];
    for (let index = 0; cookies.has(`${name}.${index}`); index++) chunks.push(cookies.get(`${name}.${index}`)!);
    if (chunks.length > 0) return chunks.join('');
  }
  return null;
}

/**
 * The dashboard user behind a browser request, from the next-auth session cookie, re-checked
 * against the database (a disabled account is signed out everywhere at once). Only the cookie is
 * handed to next-auth: it would otherwise also accept a session token as a Bearer header.
 */
export async function signedInUser(request: Request): Promise<UserIdentity | null> {
  const secret = process.env.NEXTAUTH_SECRET;
  const cookie = sessionCookie(request);
  if (!secret || !cookie) return null;
  const token = await decode({ token: cookie, secret }).catch(() => null);
  const userId = typeof token?.uid === 'string' ? token.uid : typeof token?.sub === 'string' ? token.sub : null;
  if (!userId) return null;
  const identity = await loadUserIdentity(userId);
  return identity && identity.status === 'active' ? identity : null;
}
