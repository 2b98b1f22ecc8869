import { NextRequest } from 'next/server';

/** The request's cookies, parsed by Next's own parser (the one next-auth reads sessions with). */
export function requestCookies(request: Request): NextRequest['cookies'] {
  const cookie = request.headers.get('cookie') ?? '';
  return new NextRequest(request.url, { headers: { cookie } }).cookies;
}

export interface CookieOptions {
  maxAgeSeconds: number;
  secure: boolean;
}

/** A Set-Cookie value for an HttpOnly, SameSite=Lax cookie on the whole site. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  return [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${options.maxAgeSeconds}`, ...(options.secure ? ['Secure'] : [])].join('; ');
}
