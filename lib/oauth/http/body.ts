import { readCappedText } from '@/lib/http/capped-body';
import { OAuthError } from '../errors';

// OAuth requests are a few hundred bytes; anything near this is not a real client.
const MAX_BODY_BYTES = 64 * 1024;

async function readText(request: Request): Promise<string> {
  const text = await readCappedText(request, MAX_BODY_BYTES);
  if (text === null) throw new OAuthError('invalid_request', 'request body too large', { status: 413 });
  return text;
}

function mediaType(request: Request): string {
  return (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/** An application/x-www-form-urlencoded body; an empty body is an empty form whatever its type. */
export async function readForm(request: Request): Promise<URLSearchParams> {
  const text = await readText(request);
  if (text.trim() === '') return new URLSearchParams();
  if (mediaType(request) !== 'application/x-www-form-urlencoded') {
    throw new OAuthError('invalid_request', 'send parameters as application/x-www-form-urlencoded');
  }
  return new URLSearchParams(text);
}

export async function readJson(request: Request, onInvalid: () => OAuthError): Promise<unknown> {
  const text = await readText(request);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw onInvalid();
  }
}

/**
 * A parameter that may appear at most once (RFC 6749 §3.1); empty counts as absent. Parameters
 * nobody asks for are never looked at, so unknown ones are ignored as the RFCs require.
 */
export function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw new OAuthError('invalid_request', `parameter ${name} was sent more than once`);
  return values[0] || undefined;
}
