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
  return `"${value}"`;
}
