/**
 * Metadata, JWKS, token, registration, revocation and userinfo are called from browser-based
 * clients (MCP inspectors, web apps) too. They use no cookies, so any origin may call them.
 */
export function withCors(response: Response): Response {
  response.headers.set('access-control-allow-origin', '*');
  response.headers.set('access-control-expose-headers', 'www-authenticate');
  return response;
}

export function preflight(methods: string): Response {
  return new Response(null, {
    status: 204,
    headers: {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': methods,
      'access-control-allow-headers': 'authorization, content-type, mcp-protocol-version',
      'access-control-max-age': '86400',
    },
  });
}
