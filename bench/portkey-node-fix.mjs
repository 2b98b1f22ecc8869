// Preloaded into Portkey's gateway by `npm run bench` (node --import). On Node, @hono/node-server's
// lightweight Response keeps the headers of a Response it is built from, and Portkey builds its
// streamed answers from fetch()'s Response, whose headers are immutable: every streamed
// /v1/messages then fails with "TypeError: immutable" (Portkey 1.15.2, Node 20). Streamed answers
// of fetch() are given a copy of their headers here; nothing else changes.
const nativeFetch = globalThis.fetch;
globalThis.fetch = async function fetchWithMutableStreamHeaders(input, init) {
  const response = await nativeFetch(input, init);
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) return response;
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: new Headers(response.headers) });
};
