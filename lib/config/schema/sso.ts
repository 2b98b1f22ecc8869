import { z } from 'zod';

/** Loopback issuers may use http (a local Keycloak, tests); every other issuer must be https. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

const issuer = z
  .url({ protocol: /^https?$/, error: (issue) => (issue.input === undefined ? undefined : 'must be the issuer URL, e.g. https://acme.okta.com') })
  .refine((value) => {
    const url = new URL(value);
    return url.protocol === 'https:' || isLoopback(url.hostname);
  }, 'must use https (http is accepted only for localhost)')
  .refine((value) => !new URL(value).search && !new URL(value).hash, 'must not have a query string or fragment')
  // Stored without a trailing slash: discovery is <issuer>/.well-known/openid-configuration.
  .transform((value) => value.replace(/\/+$/, ''));

const claimName = z.string().trim().min(1).max(200);
const roleName = z.string().trim().min(1).max(100);
const departmentSlug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,99}$/, { error: 'must be a department slug: lowercase letters, digits and dashes' });
const domain = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, { error: 'must be a domain name like example.com' });

const ssoProvider = z.strictObject({
  // Part of the callback URL registered at the identity provider: <public URL>/api/auth/callback/<id>.
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: 'must be lowercase letters, digits and dashes' })
    .refine((value) => value !== 'credentials', 'is reserved for password sign-in'),
  // Shown on the sign-in page as "Sign in with <name>".
  name: z.string().trim().min(1).max(100),
  issuer,
  client_id: z.string().trim().min(1).max(500),
  // The secret itself never lives in this file: only the name of the variable that holds it.
  client_secret_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'must be an environment variable name like OKTA_CLIENT_SECRET' }),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { error: 'must be a scope token' }))
    .default(['openid', 'email', 'profile'])
    .refine((scopes) => scopes.includes('openid'), 'must include openid'),
  // Which id_token claims carry what; the defaults are the common names.
  claims: z
    .strictObject({
      email: claimName.default('email'),
      name: claimName.default('name'),
      department: claimName.default('department'),
      groups: claimName.default('groups'),
    })
    .prefault({}),
  // Department claim value → department slug. Without a map the value itself is used (as a slug).
  department_map: z.record(z.string().min(1), departmentSlug).optional(),
  // Group (name or id, as the IdP sends it) → Gatehouse role name.
  role_map: z.record(z.string().min(1), roleName).default({}),
  // Granted to every user of this provider, in addition to mapped roles.
  default_roles: z.array(roleName).default(['member']),
  // When set, only email addresses in these domains may sign in through this provider.
  allowed_domains: z.array(domain).min(1).optional(),
});

/** Upstream OpenID Connect providers offered on the sign-in page (Okta, Entra ID, Google, Keycloak…). */
export const ssoSection = z
  .strictObject({
    providers: z.array(ssoProvider).default([]),
  })
  .superRefine((section, ctx) => {
    const seen = new Set<string>();
    section.providers.forEach((provider, index) => {
      if (seen.has(provider.id)) ctx.addIssue({ code: 'custom', path: ['providers', index, 'id'], message: `duplicate provider id "${provider.id}"` });
      seen.add(provider.id);
    });
  })
  .prefault({});

export type SsoConfig = z.output<typeof ssoSection>;
export type SsoProviderConfig = SsoConfig['providers'][number];
