// Words put into command lines that a shell on someone else's machine runs (managed settings,
// install steps, service units): one quoting helper per shell.

/** One word for sh: single-quoted, each ' inside written as '\''. */
export function posixQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * Characters no quoting protects on Windows for every shell a command line may meet there: cmd.exe
 * expands % and ! inside double quotes, PowerShell and Git Bash (which Claude Code runs commands
 * with) expand $ and `, and a " ends the quoting. Such values are refused, not escaped.
 */
export const WINDOWS_UNQUOTABLE = /["%!$`\p{Cc}]/u;

export type Shell = 'posix' | 'windows';

/**
 * One word for `shell`: POSIX single-quoted, Windows double-quoted. Throws for a Windows word no
 * quoting protects (callers validate such input first, with WINDOWS_UNQUOTABLE).
 */
export function quoteFor(shell: Shell, value: string): string {
  if (shell === 'posix') return posixQuote(value);
  if (WINDOWS_UNQUOTABLE.test(value)) throw new Error(`${value} cannot be put on a Windows command line (it holds one of " % ! $ \` or a control character)`);
  // "C:\\dir\\" ends in \\": the backslash escapes the quote for programs parsing their command line.
  if (value.endsWith('\\')) throw new Error(`${value} cannot be put on a Windows command line (it ends in a backslash)`);
  return `"${value}"`;
}

/**
 * Node's environment variables that change what a program prints without touching its file:
 * NODE_OPTIONS (--require, --import: code run first), and TLS trust. A command line run on a
 * machine whose user is the one governed clears them; the rest of the environment (HOME, the
 * helper's sign-in) stays.
 */
export const NODE_ENV_CLEARED = ['NODE_OPTIONS', 'NODE_TLS_REJECT_UNAUTHORIZED', 'NODE_EXTRA_CA_CERTS', 'NODE_PATH'] as const;

/**
 * A sh command line running `program` with the Node at `node` (absolute, chosen at install time,
 * never looked up on the user's PATH) and NODE_ENV_CLEARED unset: a node or a NODE_OPTIONS the
 * user puts first cannot decide what the program prints. /usr/bin/env -u is in macOS and Linux.
 */
export function posixNodeCommand(node: string, program: string): string {
  return ['/usr/bin/env', ...NODE_ENV_CLEARED.flatMap((name) => ['-u', name]), posixQuote(node), posixQuote(program)].join(' ');
}
