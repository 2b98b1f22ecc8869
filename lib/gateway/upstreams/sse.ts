/** Server-sent event framing, as the Anthropic API writes it. */
const encoder = new TextEncoder();

export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function sseBytes(event: string, data: unknown): Uint8Array {
  return encoder.encode(sseFrame(event, data));
}

export const PING_FRAME = encoder.encode(sseFrame('ping', { type: 'ping' }));

export function errorFrame(type: string, message: string): Uint8Array {
  return sseBytes('error', { type: 'error', error: { type, message } });
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Index just past the last complete event in `bytes` (a blank line: LF LF, CR CR or CRLF CRLF),
 * or 0 when none is complete. Relaying only complete events means a failure mid-event never
 * leaves a half-written event in front of the `event: error` we then send.
 */
export function endOfLastEvent(bytes: Uint8Array): number {
  for (let index = bytes.length - 1; index >= 1; index -= 1) {
    const byte = bytes[index];
    if (byte !== LF && byte !== CR) continue;
    const previous = bytes[index - 1];
    if (previous === byte) return index + 1; // LF LF or CR CR
    if (byte === LF && previous === CR && index >= 3 && bytes[index - 2] === LF && bytes[index - 3] === CR) return index + 1;
  }
  return 0;
}
