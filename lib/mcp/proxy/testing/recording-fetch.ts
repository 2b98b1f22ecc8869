/**
 * A fetch for the MCP SDK client that keeps everything a proxy response carried to the client
 * (headers and body text, streamed or not), so tests can prove a secret never reached it.
 */
export function recordingFetch(): { fetch: typeof fetch; received(): string } {
  let received = '';
  const recording: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    received += JSON.stringify([...response.headers]);
    if (!response.body) return response;
    const decoder = new TextDecoder();
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          received += decoder.decode(chunk, { stream: true });
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  return { fetch: recording, received: () => received };
}
