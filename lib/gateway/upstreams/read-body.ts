import { chunksOf, type UpstreamBody } from './adapter';

/**
 * Reading an upstream body once its headers are in. There is no deadline for the whole body: an
 * answer that keeps sending is read to the end however long it takes (a long non-streaming answer
 * is normal). What ends it is silence: no byte for the idle limit.
 */

/** The upstream stopped sending a body it had started: silent past the idle limit, or the connection ended. */
export class UpstreamBodyError extends Error {
  constructor(
    readonly timedOut: boolean,
    message: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamBodyError';
  }
}

/** `promise`, or an UpstreamBodyError(timedOut) when it takes longer than `idleMs`. */
export function withinIdleLimit<T>(promise: Promise<T>, idleMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new UpstreamBodyError(true, `the upstream sent nothing for ${Math.round(idleMs / 1000)} s`)), idleMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * The whole body, or UpstreamBodyError when it stalls for `idleMs` or the connection fails
 * mid-body. With `maxBytes`, stops quietly after that many bytes (error bodies: the start is enough).
 */
export async function readBodyWithIdleLimit(body: UpstreamBody | null, idleMs: number, maxBytes = Infinity): Promise<Uint8Array<ArrayBuffer>> {
  if (!body) return new Uint8Array(0);
  const chunks = chunksOf(body)[Symbol.asyncIterator]();
  const read: Uint8Array[] = [];
  let size = 0;
  let finished = false;
  try {
    while (size < maxBytes) {
      const { done, value } = await withinIdleLimit(chunks.next(), idleMs);
      if (done) {
        finished = true;
        break;
      }
      read.push(value);
      size += value.byteLength;
    }
  } catch (error) {
    if (error instanceof UpstreamBodyError) throw error;
    throw new UpstreamBodyError(false, 'the upstream connection ended before its answer was complete', { cause: error });
  } finally {
    // Frees the connection of a body we stop reading.
    if (!finished) chunks.return?.().catch(() => {});
  }
  const bytes = new Uint8Array(Buffer.concat(read));
  return maxBytes === Infinity ? bytes : bytes.subarray(0, maxBytes);
}
