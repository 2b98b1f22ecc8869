import { describe, expect, it } from 'vitest';
import { readCappedText } from './capped-body';

/** A chunked body with no Content-Length that would go on for `chunks` × 64 KiB, counting what was pulled. */
function endlessBody(chunks: number): { request: Request; pulled: () => number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= chunks) return controller.close();
      pulled += 1;
      controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
    },
  });
  const request = new Request('http://127.0.0.1/mcp', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  return { request, pulled: () => pulled };
}

describe('readCappedText', () => {
  it('returns a body under the cap whole', async () => {
    expect(await readCappedText(new Request('http://127.0.0.1/', { method: 'POST', body: '{"a":1}' }), 1024)).toBe('{"a":1}');
  });

  it('refuses a declared length over the cap without reading, and stops an undeclared one at the cap', async () => {
    const declared = new Request('http://127.0.0.1/', { method: 'POST', body: 'x'.repeat(2048), headers: { 'content-length': '2048' } });
    expect(await readCappedText(declared, 1024)).toBeNull();
    const { request, pulled } = endlessBody(10_000);
    expect(await readCappedText(request, 1024 * 1024)).toBeNull();
    // 1 MiB is 16 chunks of 64 KiB: reading stopped just past it, not at the 625 MiB end.
    expect(pulled()).toBeLessThan(20);
  });
});
