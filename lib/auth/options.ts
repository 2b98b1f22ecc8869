import type { NextAuthOptions } from 'next-auth';
import type { Provider } from 'next-auth/providers/index';
import CredentialsProvider from 'next-auth/providers/credentials';
import { z } from 'zod';
import { appendAuditEvent } from '@/lib/audit';
import { clientIp, userAgent } from '@/lib/http/client-ip';
import { authenticateLocalUser, type SignInOrigin } from './local-sign-in';
import { encodeSignInError } from './sign-in-errors';
import { usableSsoProviders } from './sso-config';
import { ssoProvider } from './sso-provider';

/** Dashboard sessions last a working day; the token is re-checked against the database per page. */
export const SESSION_MAX_AGE_SECONDS = 12 * 60 * 60;

const credentialsSchema = z.object({
  email: z.string().max(1000),
  // Bounded so nobody can make the server hash megabytes per attempt.
  password: z.string().max(1024),
});

/**
 * Password sign-in. `origin` is the request's, with the client address from
 * lib/http/client-ip.ts (X-Forwarded-For believed only as far as trusted proxies vouch for it):
 * it keys the per-address throttle, so it must not be whatever the client wrote in a header.
 */
function passwordProvider(origin: SignInOrigin): Provider {
  return CredentialsProvider({
    id: 'credentials',
    name: 'Email and password',
    credentials: {
      email: { label: 'Email', type: 'email' },
      password: { label: 'Password', type: 'password' },
    },
    async authorize(credentials) {
      const parsed = credentialsSchema.safeParse(credentials);
      if (!parsed.success) throw new Error(encodeSignInError('invalid_credentials'));
      const result = await authenticateLocalUser(parsed.data.email, parsed.data.password, origin);
      // A thrown message reaches the sign-in form as signIn()'s `error`.
      if (!result.ok) throw new Error(encodeSignInError(result.reason, result.reason === 'throttled' ? result.retryAfterSeconds : undefined));
      const { user } = result;
      return { id: user.id, email: user.email, name: user.name, tenantId: user.tenantId, roles: user.roles, departmentSlug: user.departmentSlug };
    },
  });
}

const shared: Omit<NextAuthOptions, 'providers'> = {
  session: { strategy: 'jwt', maxAge: SESSION_MAX_AGE_SECONDS },
  pages: { signIn: '/signin', error: '/signin' },
  callbacks: {
    signIn({ user }) {
      // An SSO refusal (disabled account, domain not allowed…) becomes a message on /signin.
      return user.signInRefusal ? `/signin?error=${encodeURIComponent(user.signInRefusal)}` : true;
    },
    jwt({ token, user }) {
      // `user` is present only on the sign-in request itself.
      if (user) {
        token.uid = user.id;
        token.tenantId = user.tenantId;
        token.roles = user.roles;
        token.departmentSlug = user.departmentSlug;
      }
      return token;
    },
    session({ session, token }) {
      session.user = {
        id: token.uid ?? '',
        tenantId: token.tenantId ?? '',
        email: token.email ?? '',
        name: token.name ?? '',
        roles: token.roles ?? [],
        departmentSlug: token.departmentSlug ?? null,
      };
      return session;
    },
  },
  events: {
    async signOut({ token }) {
      if (!token?.tenantId || !token.uid) return;
      await appendAuditEvent({
        tenant_id: token.tenantId,
        event_type: 'auth.sign_out',
        action: 'session.delete',
        outcome: 'success',
        actor: { user_id: token.uid, email: token.email ?? undefined, department: token.departmentSlug ?? undefined, roles: token.roles ?? [] },
        call_source: 'dashboard',
      });
    },
  },
};

/**
 * For reading sessions (getServerSession): the providers play no part there, so this copy has
 * none (signing in goes through authOptionsForRequest) and never reads the SSO configuration.
 */
export const authOptions: NextAuthOptions = { ...shared, providers: [] };

/**
 * For the next-auth route: password sign-in plus every SSO provider gatehouse.yaml lists right
 * now. Built per request (a handful of plain objects), so SSO edits apply without a restart;
 * the request's origin (trusted client address, user agent) keys the password throttle and goes
 * into every sign-in audit event.
 */
export function authOptionsForRequest(request: Request): NextAuthOptions {
  const origin: SignInOrigin = { ip: clientIp(request), userAgent: userAgent(request) };
  const providers: Provider[] = [passwordProvider(origin), ...usableSsoProviders().map((provider) => ssoProvider(provider, origin))];
  return { ...shared, providers };
}
