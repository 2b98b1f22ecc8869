import { inspect } from 'node:util';
import { upstreamFetch, type UpstreamFetch } from '@/lib/platform/outbound/upstream-fetch';
import { UserInputError } from '@/lib/users/tenant';
import { oauthConfigOf, sealedSecretOf } from './repository';
import { openOAuthClientSecret, openUpstreamSecret, secretHeaderValue } from './secrets';
import type { RegisteredServer, UpstreamAuthKind } from './types';

/** oauth_user servers: the OAuth client to use at the upstream on the user's behalf (secret opened). */
export interface UpstreamOAuthClient {
  authorizationServer?: string;
  clientId?: string;
  clientSecret?: string;
  scope?: string;
}

/** What replaces a credential wherever Gatehouse shows or records something an upstream said. */
export const REDACTED = '[redacted by Gatehouse]';
/** Scrubbing a very short value would mangle ordinary text and protect nothing. */
const MIN_SECRET_LENGTH = 6;

/**
 * How to reach a remote server: its URL, the headers to add to every request (the static secret,
 * opened here), and an SSRF-checked fetch for the transport. Printing or serialising it shows
 * REDACTED for header values and the client secret, so a stray log line leaks nothing.
 */
export class UpstreamTarget {
  constructor(
    readonly serverId: string,
    readonly name: string,
    readonly transport: 'streamable_http' | 'sse',
    readonly url: URL,
    readonly auth: UpstreamAuthKind,
    /** Add to every upstream request; for oauth_user the proxy adds the user's token itself. */
    readonly headers: Readonly<Record<string, string>>,
    /** Connects only to addresses this server is allowed (checked at connect time, every request). */
    readonly fetch: UpstreamFetch,
    readonly oauth: UpstreamOAuthClient | null,
    /** The secret values, for scrubbing them out of upstream error messages. */
    readonly secrets: readonly string[],
  ) {}

  toJSON() {
    return {
      serverId: this.serverId,
      name: this.name,
      transport: this.transport,
      url: this.url.href,
      auth: this.auth,
      headers: Object.fromEntries(Object.keys(this.headers).map((name) => [name, REDACTED])),
      oauth: this.oauth ? { ...this.oauth, ...(this.oauth.clientSecret ? { clientSecret: REDACTED } : {}) } : null,
    };
  }

  [inspect.custom]() {
    return this.toJSON();
  }

  /**
   * `value` with every secret value replaced by REDACTED: text, or JSON (strings and keys at any
   * depth; other values as they are). The one scrubber of what an upstream says, for the health
   * check's errors and everything the proxy returns or records: an upstream that echoes the
   * credentials it was sent leaks nothing.
   */
  redact<T>(value: T): T {
    const secrets = this.secrets.filter((secret) => secret.length >= MIN_SECRET_LENGTH);
    if (secrets.length === 0) return value;
    const scrub = (text: string): string => secrets.reduce((result, secret) => result.replaceAll(secret, REDACTED), text);
    const walk = (item: unknown): unknown => {
      if (typeof item === 'string') return scrub(item);
      if (Array.isArray(item)) return item.map(walk);
      if (item !== null && typeof item === 'object') return Object.fromEntries(Object.entries(item).map(([key, inner]) => [scrub(key), walk(inner)]));
      return item;
    };
    return walk(value) as T;
  }
}

export interface TargetFields {
  id: string;
  name: string;
  transport: 'streamable_http' | 'sse' | 'stdio';
  url: string | null;
  allowPrivateNetwork: boolean;
  upstreamAuth: UpstreamAuthKind;
  secretHeader: string | null;
}

/** Builds a target from fields and an opened secret (registration checks before anything is stored). */
export function targetFrom(server: TargetFields, secret: string | null, oauth: UpstreamOAuthClient | null): UpstreamTarget {
  if (server.transport === 'stdio' || !server.url) throw new UserInputError(`${server.name} is a stdio server: it runs on devices, not through Gatehouse`);
  const headers: Record<string, string> = {};
  if (server.upstreamAuth === 'static_secret' && secret !== null) {
    const header = server.secretHeader ?? 'Authorization';
    headers[header] = secretHeaderValue(header, secret);
  }
  return new UpstreamTarget(
    server.id,
    server.name,
    server.transport,
    new URL(server.url),
    server.upstreamAuth,
    headers,
    upstreamFetch({ allowPrivateNetwork: server.allowPrivateNetwork }),
    oauth,
    [secret ?? '', oauth?.clientSecret ?? ''].filter(Boolean),
  );
}

/**
 * The target the proxy (and the health check) connect to for an active remote server. Throws
 * UserInputError for a revoked or stdio server. The static secret is opened here and nowhere
 * else; the OAuth client secret here and, for the token and revocation endpoints, through
 * openedOAuthClientSecret below.
 */
export async function upstreamTarget(server: RegisteredServer): Promise<UpstreamTarget> {
  if (server.status !== 'active') throw new UserInputError(`${server.name} is revoked`);
  let secret: string | null = null;
  if (server.upstreamAuth === 'static_secret') {
    const sealed = await sealedSecretOf(server.id);
    if (!sealed) throw new UserInputError(`${server.name} has no upstream secret stored`);
    secret = await openUpstreamSecret(sealed, server.id);
  }
  let oauth: UpstreamOAuthClient | null = null;
  if (server.upstreamAuth === 'oauth_user' && server.oauth) {
    const { authorizationServer, clientId, scope } = server.oauth;
    const clientSecret = await openedOAuthClientSecret(server);
    oauth = { authorizationServer, clientId, scope, ...(clientSecret ? { clientSecret } : {}) };
  }
  return targetFrom(server, secret, oauth);
}

/**
 * The OAuth client secret an administrator configured for an oauth_user server, opened. Unlike
 * upstreamTarget it also answers for a revoked server: revoking its people's tokens at the
 * provider after the revocation authenticates with it.
 */
export async function openedOAuthClientSecret(server: RegisteredServer): Promise<string | undefined> {
  if (server.upstreamAuth !== 'oauth_user' || !server.oauth?.hasClientSecret) return undefined;
  const sealed = ((await oauthConfigOf(server.id)) as { sealedClientSecret?: string } | null)?.sealedClientSecret;
  return sealed ? openOAuthClientSecret(sealed, server.id) : undefined;
}
