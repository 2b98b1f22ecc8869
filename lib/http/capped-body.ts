/**
 * A request's (or a response's) body as text, read chunk by chunk and abandoned as soon as it passes `maxBytes`
 * (the declared Content-Length is checked first): a large or endless body is never held in
 * memory. Null means too large; each protocol answers that in its own error shape.
 */
export async function readCappedText(request: Pick<Request, 'headers' | 'body'>, maxBytes: number): Promise<string | null> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBytes) return null;
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks));
}
