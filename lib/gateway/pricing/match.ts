import type { MatchLogic } from '@pydantic/genai-prices';

// Regexes come from the pinned snapshot (reviewed data, never request input); compiled once.
const compiled = new Map<string, RegExp>();

function regex(source: string): RegExp {
  let pattern = compiled.get(source);
  if (!pattern) {
    pattern = new RegExp(source);
    compiled.set(source, pattern);
  }
  return pattern;
}

/** genai-prices' model-name matcher, with its semantics: case-insensitive except for regexes. */
export function matchesModel(logic: MatchLogic, name: string): boolean {
  if ('or' in logic) return logic.or.some((inner) => matchesModel(inner, name));
  if ('and' in logic) return logic.and.every((inner) => matchesModel(inner, name));
  const lower = name.toLowerCase();
  if ('equals' in logic) return lower === logic.equals.toLowerCase();
  if ('starts_with' in logic) return lower.startsWith(logic.starts_with.toLowerCase());
  if ('ends_with' in logic) return lower.endsWith(logic.ends_with.toLowerCase());
  if ('contains' in logic) return lower.includes(logic.contains.toLowerCase());
  return regex(logic.regex).test(name);
}

/**
 * The names a provider's model id may be listed under publicly: itself, without a cloud's
 * prefix (Bedrock `us.anthropic.claude-…`, `anthropic.claude-…`), Vertex's `@` version written
 * the Anthropic way (`claude-sonnet-4-5@20250929` → `claude-sonnet-4-5-20250929`), and without an
 * `organisation/` prefix (`Qwen/Qwen3-32B` served by vLLM).
 */
export function candidateNames(model: string): string[] {
  const names = [model];
  if (/^claude-[^@]+@\d{8}$/.test(model)) names.push(model.replace('@', '-'));
  const bedrock = /^(?:[a-z]{2,4}\.)?anthropic\.(.+)$/.exec(model);
  if (bedrock) names.push(bedrock[1]!);
  const slash = model.lastIndexOf('/');
  if (slash > 0 && slash < model.length - 1) names.push(model.slice(slash + 1));
  return names;
}
