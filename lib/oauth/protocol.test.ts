import { afterEach, describe, expect, it } from 'vitest';
import { OAuthError } from './errors';
import { configuredIssuer, gatewayAudience } from './issuer';
import { verifyPkce, s256 } from './pkce';
import { redirectUriMatches, redirectUriProblem } from './redirect-uris';
import { resolveAudience } from './resource';
import { narrowScope, parseScope } from './scopes';

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    if (error instanceof OAuthError) return error.code;
    throw error;
  }
  return undefined;
}

afterEach(() => {
  delete process.env.GATEHOUSE_PUBLIC_URL;
});

describe('issuer', () => {
  afterEach(() => {
    delete process.env.PORT;
  });

  it('is GATEHOUSE_PUBLIC_URL when set, else http://localhost:$PORT, and never the request host', () => {
    delete process.env.PORT;
    expect(configuredIssuer()).toBe('http://localhost:3000');
    process.env.PORT = '4100';
    expect(configuredIssuer()).toBe('http://localhost:4100');
    expect(gatewayAudience()).toBe('http://localhost:4100/v1');
    process.env.GATEHOUSE_PUBLIC_URL = 'https://gw.example.com/';
    expect(configuredIssuer()).toBe('https://gw.example.com');
    expect(gatewayAudience()).toBe('https://gw.example.com/v1');
    expect(gatewayAudience('https://other.example')).toBe('https://other.example/v1');
  });
});

describe('resource indicators', () => {
  const issuer = 'https://gw.example.com';
  it('default to the gateway and accept only resources on the issuer origin', () => {
    expect(resolveAudience([], issuer)).toBe('https://gw.example.com/v1');
    expect(resolveAudience(['https://gw.example.com/mcp/github'], issuer)).toBe('https://gw.example.com/mcp/github');
    expect(codeOf(() => resolveAudience(['https://gw.example.com.evil.example/mcp'], issuer))).toBe('invalid_target');
    expect(codeOf(() => resolveAudience(['https://gw.example.com/mcp#frag'], issuer))).toBe('invalid_target');
    expect(codeOf(() => resolveAudience(['/relative'], issuer))).toBe('invalid_target');
    expect(codeOf(() => resolveAudience(['https://gw.example.com/a', 'https://gw.example.com/b'], issuer))).toBe('invalid_target');
  });
});

describe('redirect URIs', () => {
  const deny = { customSchemes: [] as string[] };
  it('registers https, http loopback, and custom schemes only when allowed', () => {
    expect(redirectUriProblem('https://claude.ai/api/mcp/auth_callback', deny)).toBeNull();
    expect(redirectUriProblem('http://127.0.0.1/cb', deny)).toBeNull();
    expect(redirectUriProblem('http://[::1]:8080/cb', deny)).toBeNull();
    expect(redirectUriProblem('http://localhost:8080/cb', deny)).toBeNull();
    expect(redirectUriProblem('http://example.com/cb', deny)).toMatch(/loopback/);
    expect(redirectUriProblem('cursor://cb', deny)).toMatch(/GATEHOUSE_OAUTH_REDIRECT_SCHEMES/);
    expect(redirectUriProblem('cursor://cb', { customSchemes: ['cursor'] })).toBeNull();
    expect(redirectUriProblem('javascript:alert(1)', { customSchemes: 'any' })).toMatch(/not allowed/);
    expect(redirectUriProblem('https://user:pw@app.example/cb', deny)).toMatch(/user information/);
  });

  it('match exactly, except for the port of a loopback URI', () => {
    expect(redirectUriMatches('https://app.example/cb', 'https://app.example/cb')).toBe(true);
    expect(redirectUriMatches('https://app.example/cb', 'https://app.example:8443/cb')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:51234/cb')).toBe(true);
    expect(redirectUriMatches('http://[::1]:1/cb', 'http://[::1]:2/cb')).toBe(true);
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:51234/cb2')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://localhost:51234/cb')).toBe(false);
  });
});

describe('scopes and PKCE', () => {
  it('refuses unknown scopes and never widens on refresh', () => {
    expect(parseScope('openid  email openid')).toEqual(['openid', 'email']);
    expect(codeOf(() => parseScope('openid admin'))).toBe('invalid_scope');
    expect(narrowScope('openid email', 'email')).toBe('email');
    expect(codeOf(() => narrowScope('openid', 'openid email'))).toBe('invalid_scope');
  });

  it('verifies S256 (RFC 7636 appendix B example)', () => {
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    expect(s256(verifier)).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    expect(verifyPkce('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', verifier)).toBe(true);
    expect(verifyPkce('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', 'short')).toBe(false);
    expect(verifyPkce('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', undefined)).toBe(false);
  });
});
