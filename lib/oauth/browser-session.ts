import { getToken } from 'next-auth/jwt';
import { NextRequest } from 'next/server';
import { loadUserIdentity, type UserIdentity } from './identity';

/**
 * The dashboard user behind a browser request, from the next-auth session cookie, re-checked
 * against the database (a disabled account is signed out everywhere at once). Only the cookie is
 * handed to next-auth: it would otherwise also accept a session token as a Bearer header.
 */
export async function signedInUser(request: Request): Promise<UserIdentity | null> {
  const secret = process.env.NEXTAUTH_SECRET;
  const cookie = request.headers.get('cookie');
  if (!secret || !cookie) return null;
  const token = await getToken({ req: new NextRequest(request.url, { headers: { cookie } }), secret });
  const userId = typeof token?.uid === 'string' ? token.uid : typeof token?.sub === 'string' ? token.sub : null;
  if (!userId) return null;
  const identity = await loadUserIdentity(userId);
  return identity && identity.status === 'active' ? identity : null;
}
