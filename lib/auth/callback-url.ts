const PLACEHOLDER_ORIGIN = 'http://gatehouse.invalid';

/**
 * Where to go after signing in. Only a path on this site is accepted: anything that would leave
 * it (`//evil.example`, `/\evil.example`, `https://…`) becomes `/`, so the sign-in page cannot be
 * used as an open redirect. Shared by the server page and the browser form.
 */
export function safeCallbackPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/')) return '/';
  try {
    const url = new URL(value, PLACEHOLDER_ORIGIN);
    if (url.origin !== PLACEHOLDER_ORIGIN) return '/';
    const path = `${url.pathname}${url.search}${url.hash}`;
    return path.startsWith('/signin') ? '/' : path;
  } catch {
    return '/';
  }
}

export function signInPath(callbackPath: string): string {
  return `/signin?callbackUrl=${encodeURIComponent(safeCallbackPath(callbackPath))}`;
}
