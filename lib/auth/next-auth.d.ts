import type { DefaultSession } from 'next-auth';

// What Gatehouse keeps in the session token: identity only. Authorisation (status, roles,
// permissions) is read fresh from the database on every page (lib/auth/session.ts).
declare module 'next-auth' {
  interface User {
    tenantId: string;
    roles: string[];
    departmentSlug: string | null;
    /** Set by an SSO provider's profile step when the user may not sign in (a /signin error code). */
    signInRefusal?: string;
  }

  interface Session {
    user: {
      id: string;
      tenantId: string;
      email: string;
      name: string;
      roles: string[];
      departmentSlug: string | null;
    } & DefaultSession['user'];
  }
}

declare module 'next-auth/jwt' {
  interface JWT {
    uid?: string;
    tenantId?: string;
    roles?: string[];
    departmentSlug?: string | null;
  }
}
