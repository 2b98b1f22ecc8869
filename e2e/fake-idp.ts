/**
 * A small OpenID Connect provider for the SSO browser tests: discovery, JWKS, an authorization
 * endpoint that approves whoever the test said is signed in (no login form), and a token endpoint
 * that checks the client secret and PKCE before returning an RS256 id_token. Only 127.0.0.1.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { listenOnLoopback } from '@/lib/platform/net';

export interface FakeIdentity {
  sub: string;
  email: string;
  name: string;
  department?: string;
  groups: string[];
  /** Sent as is; true when left out, and null leaves the claim out of the id_token (as some IdPs do). */
  email_verified?: boolean | null;
}

export interface FakeIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

interface PendingCode {
  identity: FakeIdentity;
  redirectUri: string;
  codeChallenge: string;
  nonce?: string;
  scope: string;
  expiresAt: number;
}

const KID = 'fake-idp-key';

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** client_secret_basic (what openid-client sends by default) or client_secret_post. */
function clientCredentials(req: IncomingMessage, form: URLSearchParams): { id: string | null; secret: string | null } {
  const header = req.headers.authorization;
  if (header?.startsWith('Basic ')) {
    const [id = '', secret = ''] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
    return { id: decodeURIComponent(id.replace(/\+/g, ' ')), secret: decodeURIComponent(secret.replace(/\+/g, ' ')) };
  }
  return { id: form.get('client_id'), secret: form.get('client_secret') };
}

export async function startFakeIdp(options: { clientId: string; clientSecret: string }): Promise<FakeIdp> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  const codes = new Map<string, PendingCode>();
  let identity: FakeIdentity | null = null;
  let issuer = '';

  async function idToken(code: PendingCode, key: CryptoKey): Promise<string> {
    const { sub, email_verified: verified, ...claims } = code.identity;
    return new SignJWT({ ...claims, ...(verified === null ? {} : { email_verified: verified ?? true }), ...(code.nonce ? { nonce: code.nonce } : {}) })
      .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(sub)
      .setAudience(options.clientId)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
  }

  function authorize(url: URL, res: ServerResponse): void {
    const redirectUri = url.searchParams.get('redirect_uri');
    if (url.searchParams.get('client_id') !== options.clientId || !redirectUri) return json(res, 400, { error: 'invalid_request', error_description: 'unknown client or no redirect_uri' });
    const back = new URL(redirectUri);
    const state = url.searchParams.get('state');
    if (state) back.searchParams.set('state', state);
    const challenge = url.searchParams.get('code_challenge');
    if (url.searchParams.get('response_type') !== 'code' || !challenge || url.searchParams.get('code_challenge_method') !== 'S256') {
      back.searchParams.set('error', 'invalid_request');
    } else if (!identity) {
      back.searchParams.set('error', 'access_denied');
    } else {
      const code = randomBytes(16).toString('base64url');
      codes.set(code, { identity, redirectUri, codeChallenge: challenge, nonce: url.searchParams.get('nonce') ?? undefined, scope: url.searchParams.get('scope') ?? 'openid', expiresAt: Date.now() + 60_000 });
      back.searchParams.set('code', code);
    }
    res.writeHead(302, { location: back.toString() });
    res.end();
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    const client = clientCredentials(req, form);
    if (client.id !== options.clientId || client.secret !== options.clientSecret) return json(res, 401, { error: 'invalid_client' });
    const code = codes.get(form.get('code') ?? '');
    codes.delete(form.get('code') ?? '');
    if (form.get('grant_type') !== 'authorization_code' || !code || code.expiresAt < Date.now() || code.redirectUri !== form.get('redirect_uri')) {
      return json(res, 400, { error: 'invalid_grant' });
    }
    const verifier = form.get('code_verifier') ?? '';
    if (createHash('sha256').update(verifier).digest('base64url') !== code.codeChallenge) return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
    json(res, 200, { access_token: randomBytes(16).toString('base64url'), token_type: 'Bearer', expires_in: 300, scope: code.scope, id_token: await idToken(code, privateKey) });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const route = `${req.method} ${url.pathname}`;
    const handled = (async () => {
      if (route === 'GET /.well-known/openid-configuration') {
        return json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          code_challenge_methods_supported: ['S256'],
          scopes_supported: ['openid', 'email', 'profile'],
        });
      }
      if (route === 'GET /jwks') return json(res, 200, { keys: [publicJwk] });
      if (route === 'GET /authorize') return authorize(url, res);
      if (route === 'POST /token') return token(req, res);
      // Test control: who the next authorization approves (null: nobody, the IdP refuses).
      if (route === 'POST /test/identity') {
        identity = JSON.parse(await readBody(req)) as FakeIdentity | null;
        return json(res, 200, { ok: true });
      }
      json(res, 404, { error: 'not_found' });
    })();
    handled.catch((error: unknown) => json(res, 500, { error: 'server_error', error_description: String(error) }));
  });
  issuer = await listenOnLoopback(server);
  return {
    issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sets who the fake IdP signs in next (from a test worker, over HTTP). */
export async function setFakeIdentity(issuer: string, identity: FakeIdentity | null): Promise<void> {
  const response = await fetch(`${issuer}/test/identity`, { method: 'POST', body: JSON.stringify(identity) });
  if (!response.ok) throw new Error(`fake IdP refused the identity: ${response.status}`);
}
