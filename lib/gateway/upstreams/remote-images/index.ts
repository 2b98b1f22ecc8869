/**
 * Images given by URL (`{type: 'image', source: {type: 'url', url}}`) on their way to a target,
 * by its provider's `remote_images`: `forward` leaves the URL for the provider to fetch (the
 * default for Anthropic, which fetches from its own network); `fetch` (every other type's
 * default) has Gatehouse fetch the image itself, public addresses only (fetch.ts), and send it
 * inline as base64; `refuse` answers 400. Under `fetch` and `refuse` a document given by URL is
 * refused too: the provider must not fetch, and only images are fetched for it.
 *
 * The body the client sent (inspected, stored in the request event) is not changed: the target
 * gets a copy. Each URL is fetched at most once per request, whichever targets need it.
 */
import type { DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import type { RemoteImageMode } from '@/lib/config';
import { isRecord } from '@/lib/platform/json';
import { TranslationError } from '../adapter';
import { fetchRemoteImage, RemoteImageRefused, remoteImageTuning, type FetchedImage } from './fetch';

export { remoteImageTuning, resetRemoteImageTuning, tuneRemoteImages, type RemoteImageTuning } from './fetch';

type Json = Record<string, unknown>;

export function remoteImageMode(target: UpstreamTarget): RemoteImageMode {
  return target.remoteImages ?? (target.providerType === 'anthropic' ? 'forward' : 'fetch');
}

interface RemoteSource {
  /** e.g. `messages[0].content[1]` */
  path: string;
  kind: 'image' | 'document';
  source: Json;
  url: string;
}

/** Image and document blocks with a URL source, in turns and in tool results. */
function remoteSources(body: Json): RemoteSource[] {
  const found: RemoteSource[] = [];
  const visit = (blocks: unknown, path: string) => {
    if (!Array.isArray(blocks)) return;
    blocks.forEach((block, index) => {
      if (!isRecord(block)) return;
      const at = `${path}[${index}]`;
      if (block.type === 'tool_result') visit(block.content, `${at}.content`);
      if ((block.type === 'image' || block.type === 'document') && isRecord(block.source) && block.source.type === 'url' && typeof block.source.url === 'string') {
        found.push({ path: at, kind: block.type, source: block.source, url: block.source.url });
      }
    });
  };
  if (Array.isArray(body.messages)) body.messages.forEach((message, index) => isRecord(message) && visit(message.content, `messages[${index}].content`));
  return found;
}

// Per request body: the fetches of its URLs, shared by every target that needs them.
const fetched = new WeakMap<object, Map<string, Promise<FetchedImage>>>();

function fetchOnce(body: object, url: string, signal: AbortSignal): Promise<FetchedImage> {
  let forBody = fetched.get(body);
  if (!forBody) fetched.set(body, (forBody = new Map()));
  let image = forBody.get(url);
  if (!image) forBody.set(url, (image = fetchRemoteImage(url, signal)));
  return image;
}

/**
 * The input this target gets. Throws TranslationError (answered 400, not retried) for a URL the
 * target's setting refuses or that Gatehouse may not or could not fetch; rethrows a client abort.
 */
export async function withRemoteImages(input: DispatchInput, target: UpstreamTarget): Promise<DispatchInput> {
  const mode = remoteImageMode(target);
  if (mode === 'forward') return input;
  const sources = remoteSources(input.body);
  if (sources.length === 0) return input;
  const setting = `providers.${target.provider}.remote_images: ${mode}`;
  for (const { path, kind } of sources) {
    if (mode === 'refuse' || kind === 'document') {
      throw new TranslationError(`${path} is a${kind === 'image' ? 'n image' : ' document'} given by URL, which this gateway does not pass to ${target.provider} (${setting}); send it inline as base64`);
    }
  }
  // Each URL is a connection Gatehouse opens and up to maxBytes it holds: a body of thousands of
  // URLs must not turn one request into thousands of fetches.
  const { maxImages } = remoteImageTuning();
  if (new Set(sources.map(({ url }) => url)).size > maxImages) {
    throw new TranslationError(`this request gives more than ${maxImages} images by URL, more than this gateway fetches for one request (${setting}); send them inline as base64`);
  }
  const images = await Promise.all(
    sources.map(async ({ path, url }) => {
      try {
        return await fetchOnce(input.body, url, input.signal);
      } catch (error) {
        if (error instanceof RemoteImageRefused) throw new TranslationError(`the image at ${path} was not fetched: ${error.message} (${setting}); send it inline as base64`);
        throw error;
      }
    }),
  );
  // A copy with the URLs replaced (same structure, so its sources come in the same order): the
  // client's body stays as inspected and recorded.
  const body = structuredClone(input.body);
  remoteSources(body).forEach(({ source }, index) => {
    const image = images[index]!;
    for (const key of Object.keys(source)) delete source[key];
    Object.assign(source, { type: 'base64', media_type: image.mediaType, data: image.data });
  });
  return { ...input, body };
}
