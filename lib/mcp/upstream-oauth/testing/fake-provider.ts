/**
 * Test support: a registered server that signs people in itself, on 127.0.0.1, built from the
 * MCP SDK's server-side auth (no hand-written protocol), on one origin (as the private network is
 * allowed only for origins an administrator registered, a loopback authorization server on
 * another origin would be refused):
 *   - an authorization server (mcpAuthRouter: RFC 8414 metadata, Dynamic Client Registration,
 *     authorize with PKCE S256, token, RFC 7009 revocation) with an in-memory provider that
 *     issues opaque tokens bound to the resource asked for, rotates refresh tokens (a spent one is
 *     refused, invalid_grant) and signs in whoever the `as_user` cookie names (none: access_denied);
 *   - beside it, the MCP server (Streamable HTTP at /mcp) behind requireBearerAuth with its
 *     RFC 9728 metadata, whose `whoami` tool answers with the upstream user the token belongs to
 *     and whose `echo_auth` tool quotes the token it was called with.
 * It records every access token the MCP server accepted and counts what the provider did.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Response as ExpressResponse } from 'express';
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { InvalidGrantError, InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import type { AuthorizationParams, OAuthServerProvider } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import { getOAuthProtectedResourceMetadataUrl, mcpAuthRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { OAuthClientInformationFull, OAuthTokenRevocationRequest, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { listenOnLoopback } from '@/lib/platform/net';

interface Code {
  clientId: string;
  user: string;
  challenge: string;
  redirectUri: string;
  resource?: string;
}

interface IssuedToken {
  user: string;
  clientId: string;
  resource?: string;
  expiresAt: number;
}

export interface FakeOAuthUpstream {
  /** The MCP endpoint (what is registered in Gatehouse). */
  mcpUrl: string;
  /** The authorization server's issuer. */
  issuer: string;
  /** Access tokens the MCP server accepted, with whose they were. */
  accepted: { user: string; token: string }[];
  /** Every token issued (access and refresh), for looking for them where they must not be. */
  issued: Set<string>;
  counts: { registrations: number; codes: number; refreshes: number; refusedRefreshes: number; revocations: number };
  /** Registered clients, as the authorization server stored them. */
  clients: OAuthClientInformationFull[];
  /** Lifetime of access tokens issued from now on. */
  setAccessTtl(seconds: number): void;
  /** Makes every access token of `user` expired (the MCP server answers 401). */
  expireAccessTokens(user: string): void;
  /** Revokes every refresh token of `user` at the authorization server (a refresh is refused). */
  revokeRefreshTokens(user: string): void;
  /** What the MCP server's resource metadata says from now on (null: the truth, this server and its own authorization server). */
  setResourceMetadata(override: { resource?: string; authorizationServers?: string[] } | null): void;
  /** The RFC 9207 `iss` the authorization server adds to its redirects (null: none, as the SDK's router does). */
  setIssParameter(iss: string | null): void;
  /** How long the token endpoint takes to answer a refresh. */
  setRefreshDelay(ms: number): void;
  /** Revocation requests wait, unanswered, until the returned function is called (a provider that is down). */
  holdRevocations(): () => void;
  /** Revocation requests that arrived and wait (holdRevocations). */
  readonly heldRevocations: number;
  /** Holds every authorization code exchange until the returned function is called. */
  holdCodeExchanges(): () => void;
  /** Code exchanges that arrived while held (holdCodeExchanges). */
  readonly heldCodeExchanges: number;
  close(): Promise<void>;
}

function token(prefix: string): string {
  return `${prefix}_${randomBytes(18).toString('base64url')}`;
}

/** The upstream user the browser is signed in as at the authorization server (a cookie the test sets). */
function upstreamUser(res: ExpressResponse): string | null {
  const cookie = res.req.headers.cookie ?? '';
  return /(?:^|;\s*)as_user=([A-Za-z0-9_-]+)/.exec(cookie)?.[1] ?? null;
}

export async function startFakeOAuthUpstream(): Promise<FakeOAuthUpstream> {
  const clients = new Map<string, OAuthClientInformationFull>();
  const codes = new Map<string, Code>();
  const accessTokens = new Map<string, IssuedToken>();
  const refreshTokens = new Map<string, IssuedToken>();
  const accepted: { user: string; token: string }[] = [];
  const issued = new Set<string>();
  const counts = { registrations: 0, codes: 0, refreshes: 0, refusedRefreshes: 0, revocations: 0 };
  let accessTtl = 3600;
  let resourceOverride: { resource?: string; authorizationServers?: string[] } | null = null;
  let issParameter: string | null = null;
  let refreshDelayMs = 0;
  let revocationGate: Promise<void> | null = null;
  let exchangeGate: Promise<void> | null = null;
  let heldExchanges = 0;
  let heldRevocations = 0;

  const issue = (grant: Omit<IssuedToken, 'expiresAt'>): OAuthTokens => {
    const access = token('at');
    const refresh = token('rt');
    accessTokens.set(access, { ...grant, expiresAt: Date.now() / 1000 + accessTtl });
    refreshTokens.set(refresh, { ...grant, expiresAt: Number.POSITIVE_INFINITY });
    issued.add(access).add(refresh);
    return { access_token: access, token_type: 'Bearer', expires_in: accessTtl, refresh_token: refresh, scope: 'files:read' };
  };

  const provider: OAuthServerProvider = {
    clientsStore: {
      getClient: (id) => clients.get(id),
      registerClient: (client) => {
        counts.registrations += 1;
        const full = { ...client, client_id: `client-${randomUUID()}`, client_id_issued_at: Math.floor(Date.now() / 1000) } as OAuthClientInformationFull;
        clients.set(full.client_id, full);
        return full;
      },
    },
    async authorize(client: OAuthClientInformationFull, params: AuthorizationParams, res: ExpressResponse) {
      const target = new URL(params.redirectUri);
      if (params.state) target.searchParams.set('state', params.state);
      if (issParameter) target.searchParams.set('iss', issParameter);
      const user = upstreamUser(res);
      if (!user) target.searchParams.set('error', 'access_denied');
      else {
        const code = token('code');
        codes.set(code, { clientId: client.client_id, user, challenge: params.codeChallenge, redirectUri: params.redirectUri, ...(params.resource ? { resource: params.resource.href } : {}) });
        target.searchParams.set('code', code);
      }
      res.redirect(302, target.href);
    },
    async challengeForAuthorizationCode(_client, code) {
      const found = codes.get(code);
      if (!found) throw new InvalidGrantError('unknown code');
      return found.challenge;
    },
    async exchangeAuthorizationCode(client, code, _verifier, redirectUri, resource) {
      if (exchangeGate) {
        heldExchanges += 1;
        await exchangeGate;
      }
      const found = codes.get(code);
      codes.delete(code);
      if (!found || found.clientId !== client.client_id || found.redirectUri !== redirectUri) throw new InvalidGrantError('code not issued to this client');
      if (found.resource !== resource?.href) throw new InvalidGrantError('resource differs from the authorization request');
      counts.codes += 1;
      return issue({ user: found.user, clientId: client.client_id, ...(found.resource ? { resource: found.resource } : {}) });
    },
    async exchangeRefreshToken(client, refreshToken, _scopes, resource) {
      if (refreshDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, refreshDelayMs));
      const found = refreshTokens.get(refreshToken);
      // Rotation: a refresh token is spent by its first use; presenting it again is refused.
      refreshTokens.delete(refreshToken);
      if (!found || found.clientId !== client.client_id || (resource && found.resource !== resource.href)) {
        counts.refusedRefreshes += 1;
        throw new InvalidGrantError('refresh token is not valid');
      }
      counts.refreshes += 1;
      return issue({ user: found.user, clientId: found.clientId, ...(found.resource ? { resource: found.resource } : {}) });
    },
    async verifyAccessToken(accessToken: string): Promise<AuthInfo> {
      const found = accessTokens.get(accessToken);
      if (!found) throw new InvalidTokenError('unknown token');
      return { token: accessToken, clientId: found.clientId, scopes: ['files:read'], expiresAt: Math.floor(found.expiresAt), ...(found.resource ? { resource: new URL(found.resource) } : {}), extra: { user: found.user } };
    },
    async revokeToken(_client, request: OAuthTokenRevocationRequest) {
      if (revocationGate) {
        heldRevocations += 1;
        await revocationGate;
        heldRevocations -= 1;
      }
      counts.revocations += 1;
      accessTokens.delete(request.token);
      refreshTokens.delete(request.token);
    },
  };

  const app = express();
  app.set('trust proxy', false);
  const http: Server = createServer(app);
  const base = await listenOnLoopback(http);
  const issuer = `${base}/`;
  const mcpUrl = `${base}/mcp`;
  // The resource metadata (RFC 9728) as a test wants it, else the router's: this server and its own authorization server.
  app.get(new URL(getOAuthProtectedResourceMetadataUrl(new URL(mcpUrl))).pathname, (_req, res, next) => {
    if (!resourceOverride) return next();
    res.json({ resource: resourceOverride.resource ?? mcpUrl, authorization_servers: resourceOverride.authorizationServers ?? [issuer] });
  });
  const noLimit = { rateLimit: false as const };
  app.use(mcpAuthRouter({ provider, issuerUrl: new URL(issuer), resourceServerUrl: new URL(mcpUrl), authorizationOptions: noLimit, tokenOptions: noLimit, clientRegistrationOptions: noLimit, revocationOptions: noLimit }));

  // The MCP server: bearer tokens from that authorization server, for this resource only.
  const transports = new Map<string, StreamableHTTPServerTransport>();
  app.all(
    '/mcp',
    express.json(),
    requireBearerAuth({ verifier: provider, resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(new URL(mcpUrl)), expectedResource: new URL(mcpUrl) }),
    (req, res) => {
      void (async () => {
        const auth = req.auth!;
        const found = accessTokens.get(auth.token);
        if (!found || found.expiresAt * 1000 <= Date.now()) return void res.status(401).set('www-authenticate', 'Bearer error="invalid_token"').json({ error: 'invalid_token' });
        accepted.push({ user: String(auth.extra?.user), token: auth.token });
        const sessionId = req.headers['mcp-session-id'];
        let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
        if (!transport) {
          if (sessionId) return void res.status(404).end();
          const created = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void transports.set(id, created) });
          const server = new McpServer({ name: 'fake-drive', version: '1.0.0' });
          server.registerTool('whoami', { description: 'Says whose account the call runs as' }, async (extra) => ({
            content: [{ type: 'text', text: `signed in upstream as ${String(extra.authInfo?.extra?.user)}` }],
          }));
          // Quotes the credentials it was called with, as careless servers do: the proxy must scrub them.
          server.registerTool('echo_auth', { description: 'Says which credentials it got' }, async (extra) => ({ content: [{ type: 'text', text: `I was called with Bearer ${extra.authInfo?.token ?? 'nothing'}` }] }));
          await server.connect(created);
          transport = created;
        }
        await transport.handleRequest(req, res, req.body);
      })().catch((error: Error) => {
        if (!res.headersSent) res.status(500).end(error.message);
      });
    },
  );

  return {
    mcpUrl,
    issuer,
    accepted,
    issued,
    counts,
    get clients() {
      return [...clients.values()];
    },
    setAccessTtl: (seconds) => {
      accessTtl = seconds;
    },
    expireAccessTokens: (user) => {
      for (const issuedToken of accessTokens.values()) if (issuedToken.user === user) issuedToken.expiresAt = Date.now() / 1000 - 1;
    },
    revokeRefreshTokens: (user) => {
      for (const [value, issuedToken] of refreshTokens) if (issuedToken.user === user) refreshTokens.delete(value);
    },
    setResourceMetadata: (override) => {
      resourceOverride = override;
    },
    setIssParameter: (iss) => {
      issParameter = iss;
    },
    setRefreshDelay: (ms) => {
      refreshDelayMs = ms;
    },
    holdRevocations: () => {
      let release = () => {};
      revocationGate = new Promise<void>((resolve) => {
        release = () => {
          revocationGate = null;
          resolve();
        };
      });
      return release;
    },
    get heldRevocations() {
      return heldRevocations;
    },
    holdCodeExchanges: () => {
      let release = () => {};
      exchangeGate = new Promise<void>((resolve) => {
        release = () => {
          exchangeGate = null;
          resolve();
        };
      });
      return release;
    },
    get heldCodeExchanges() {
      return heldExchanges;
    },
    close: async () => {
      await Promise.all([...transports.values()].map((transport) => transport.close()));
      await new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      });
    },
  };
}
