/**
 * The MCP endpoint's one error type for refusals made before a JSON-RPC message reaches the
 * server (authentication, permission, rate limit, unknown session): HTTP status plus a JSON-RPC
 * error body, which MCP clients show. Errors inside a request are the SDK's McpError.
 */
export class McpHttpError extends Error {
  override name = 'McpHttpError';

  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    /** JSON-RPC error code: -32000 (server error) unless a standard one fits. */
    readonly code: number = -32000,
    /** JSON-RPC error `data`, for what a client can act on (the URL where a person connects an account). */
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
  }

  toResponse(): Response {
    return Response.json({ jsonrpc: '2.0', error: { code: this.code, message: this.message, ...(this.data ? { data: this.data } : {}) }, id: null }, { status: this.status, headers: { 'cache-control': 'no-store', ...this.headers } });
  }
}
