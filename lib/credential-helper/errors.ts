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
