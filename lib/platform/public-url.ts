/**
 * The one URL users and clients reach Gatehouse at: GATEHOUSE_PUBLIC_URL, else
 * http://localhost:$PORT. It is the OAuth issuer, the base of every token audience and of the
 * discovery documents, and next-auth's NEXTAUTH_URL. It comes from configuration only, never
 * from a request's Host or forwarding headers, which anyone can set: a token or a discovery
 * document must not change with the name a client happened to use.
 */

/** Where GATEHOUSE_PUBLIC_URL and PORT are read: process.env, or the parsed environment (lib/env). */
export type PublicUrlSource = Readonly<Record<string, string | number | undefined>>;

const DEFAULT_PORT = 3000;

/** The configured public URL, without a trailing slash (read per call: cheap, and tests change it). */
export function publicUrl(source: PublicUrlSource = process.env): string {
  const configured = String(source.GATEHOUSE_PUBLIC_URL ?? '').trim();
  if (configured) return configured.replace(/\/+$/, '');
  const port = source.PORT === undefined || source.PORT === '' ? DEFAULT_PORT : source.PORT;
  return `http://localhost:${port}`;
}
