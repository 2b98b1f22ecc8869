/**
 * Fetches an image a request names by URL, for an upstream that must not fetch it itself, through
 * the SSRF-guarded fetch (lib/platform/outbound): public addresses only, a few redirects, one
 * deadline, a size cap, status 200, and an image content type whose bytes really are that image
 * (PNG, JPEG, GIF or WebP: what the upstreams take).
 */
import { sniffMediaType } from '@/lib/gateway/policy/media-type';
import { fetchPublicUrl, OutboundFetchRefused } from '@/lib/platform/outbound/fetch-public';

export interface RemoteImageTuning {
  /** Images by URL one request may have fetched: each is a connection Gatehouse opens for the client. */
  maxImages: number;
  maxBytes: number;
  /** For the whole fetch, redirects included. */
  timeoutMs: number;
  maxRedirects: number;
  /**
   * Lets an address the policy refuses through: for tests that serve an image on loopback.
   * Set in code only (tuneRemoteImages); nothing in a request can reach it.
   */
  allowAddress?: (address: string, port: number) => boolean;
}

const defaults: RemoteImageTuning = { maxImages: 20, maxBytes: 5 * 1024 * 1024, timeoutMs: 10_000, maxRedirects: 3 };
let current: RemoteImageTuning = { ...defaults };

export function remoteImageTuning(): RemoteImageTuning {
  return current;
}

/** Overrides some knobs (tests); returns the previous values. */
export function tuneRemoteImages(changes: Partial<RemoteImageTuning>): RemoteImageTuning {
  const previous = current;
  current = { ...current, ...changes };
  return previous;
}

export function resetRemoteImageTuning(): void {
  current = { ...defaults };
}

/** The image could not or may not be fetched; the message says why, never the URL (it can hold a token). */
export { OutboundFetchRefused as RemoteImageRefused };

export interface FetchedImage {
  mediaType: string;
  /** base64 */
  data: string;
}

/** Fetches the image at `url`; rejects with RemoteImageRefused, or with the client's abort reason. */
export async function fetchRemoteImage(url: string, clientSignal: AbortSignal): Promise<FetchedImage> {
  const tuning = remoteImageTuning();
  const { body } = await fetchPublicUrl(
    url,
    {
      maxBytes: tuning.maxBytes,
      timeoutMs: tuning.timeoutMs,
      maxRedirects: tuning.maxRedirects,
      accept: 'image/png, image/jpeg, image/gif, image/webp',
      allowAddress: tuning.allowAddress,
      checkHeaders: (headers) => {
        const declared = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (!declared.startsWith('image/')) throw new OutboundFetchRefused(`it is not an image (${declared.slice(0, 60) || 'no content type'})`);
      },
    },
    clientSignal,
  );
  const mediaType = sniffMediaType(body);
  if (!mediaType?.startsWith('image/')) throw new OutboundFetchRefused('its bytes are not a PNG, JPEG, GIF or WebP image');
  return { mediaType, data: body.toString('base64') };
}
