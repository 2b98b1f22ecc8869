/**
 * A failure the helper reports as one line on stderr with a non-zero exit. Clients read the exit
 * code (Claude Code: "apiKeyHelper is failing"; Desktop: sign-in needed), so nothing partial may
 * reach stdout.
 */
export class HelperError extends Error {
  constructor(
    message: string,
    /** 2: usage; 3: not signed in / sign-in refused; 1: anything else (network, server). */
    readonly exitCode: 1 | 2 | 3 = 1,
  ) {
    super(message);
  }
}

/** What went wrong in a failed call, in one phrase: fetch's own cause (ECONNREFUSED …) when it has one. */
export function failureReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? error.cause.message : error.message;
}
