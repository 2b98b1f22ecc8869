// How Claude Code names tools, in both directions: a hook's tool_name becomes the (server, tool)
// the tool policy speaks about, and a rule's (server, tool glob) becomes a hook matcher.
import { ANY_SERVER, BUILT_IN_SERVER } from '@/lib/tool-policy';

/** Claude Code names an MCP server's tool `mcp__<server>__<tool>`. */
const MCP_TOOL = /^mcp__(.+?)__(.+)$/;

export interface PolicyTarget {
  server: string;
  tool: string;
}

/**
 * How the policy names a local MCP server called `claude` (a person's or a plugin's; the registry
 * refuses the name): not `claude`, which means the built-in tools, so `mcp__claude__Bash` is not
 * judged by the rules for Bash. No rule can name it (server names have no `_`), so only rules for
 * any server (`*`) apply — as for every MCP server the registry does not know.
 */
export const LOCAL_BUILT_IN_NAMESAKE = `mcp__${BUILT_IN_SERVER}`;

/**
 * `Bash` → claude/Bash; `mcp__github__create_issue` → github/create_issue;
 * `mcp__claude__x` → mcp__claude/x (see LOCAL_BUILT_IN_NAMESAKE).
 */
export function policyTarget(toolName: string): PolicyTarget {
  const mcp = MCP_TOOL.exec(toolName);
  if (mcp) return { server: mcp[1] === BUILT_IN_SERVER ? LOCAL_BUILT_IN_NAMESAKE : mcp[1]!, tool: mcp[2]! };
  return { server: BUILT_IN_SERVER, tool: toolName };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** A rule's tool glob (`*`, `?`, everything else literal) as a regular-expression fragment. */
function globFragment(glob: string): string {
  return glob
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : escapeRegExp(char)))
    .join('');
}

/**
 * The tool names a rule's (server, tool) covers, as an unanchored fragment of Claude Code's matcher
 * syntax (a JavaScript regular expression): built-in names for `claude` (never an `mcp__` name,
 * which a glob like `*` would otherwise reach), `mcp__server__tool` for a server, both for `*`.
 */
export function ruleToolPattern(server: string, tool: string): string {
  const name = globFragment(tool);
  if (server === BUILT_IN_SERVER) return `(?!mcp__)(?:${name})`;
  if (server === ANY_SERVER) return `${name}|mcp__.+__${name}`;
  return `mcp__${escapeRegExp(server)}__${name}`;
}

/**
 * A whole-name matcher: Claude Code tests regex matchers unanchored (`as.` matches `Bash`, seen
 * with 2.1.332), so every matcher Gatehouse writes is anchored at both ends.
 */
export function anchoredMatcher(fragments: readonly string[]): string {
  return `^(?:${fragments.join('|')})$`;
}

/** Every tool name except those `fragments` cover. */
export function complementMatcher(fragments: readonly string[]): string {
  return `^(?!(?:${fragments.join('|')})$).*$`;
}
