/**
 * The response with extra headers set. Responses from fetch() (and some the SDKs build) have
 * immutable headers, so the body is carried into a new Response rather than edited in place.
 */
export function withHeaders(response: Response, extra: Record<string, string>): Response {
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
