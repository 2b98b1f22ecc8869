/**
 * Which `anthropic-beta` values each kind of Claude upstream accepts. Bedrock and Vertex fail the
 * whole request on a flag they do not know ("invalid beta flag"), and Claude Code sends several
 * (claude-code-20250219, its tool and thinking betas…), so a flag goes up only when the upstream is
 * known to take it; the rest are dropped and noted once per provider and flag in the operator log.
 * Prompt caching needs no beta on any of them: `cache_control` blocks stay in the body.
 */
import type { ProviderType } from '@/lib/config';
import type { UpstreamTarget } from '@/lib/gateway/contracts';
import { upstreamTuning } from './tuning';

/** Flags Bedrock's InvokeModel takes in `anthropic_beta` (probed by Envoy AI Gateway, plus Claude Code's own). */
const BEDROCK_BETAS = new Set([
  'claude-code-20250219',
  'computer-use-2024-10-22',
  'computer-use-2025-01-24',
  'computer-use-2025-11-24',
  'context-1m-2025-08-07',
  'context-management-2025-06-27',
  'dev-full-thinking-2025-05-14',
  'fine-grained-tool-streaming-2025-05-14',
  'interleaved-thinking-2025-05-14',
  'model-context-window-exceeded-2025-08-26',
  'output-128k-2025-02-19',
  'token-efficient-tools-2025-02-19',
  'tool-search-tool-2025-10-19',
  'effort-2025-11-24',
]);

/** Vertex takes the header itself; the same family of flags, and web search on Vertex-hosted Claude. */
const VERTEX_BETAS = new Set([...BEDROCK_BETAS, 'web-search-2025-03-05']);

/** Renamed flags: the upstream knows the feature under its older name. */
const ALIASES: Record<string, string> = { 'advanced-tool-use-2025-11-20': 'tool-search-tool-2025-10-19' };

const ALLOWLISTS: Partial<Record<ProviderType, ReadonlySet<string>>> = { bedrock: BEDROCK_BETAS, vertex: VERTEX_BETAS };

const noted = new Set<string>();

function noteDropped(target: UpstreamTarget, flag: string): void {
  const key = `${target.provider}\u0000${flag}`;
  if (noted.has(key) || noted.size > 1_000) return;
  noted.add(key);
  upstreamTuning().logger.warn('anthropic-beta flag not sent: the upstream does not accept it', { provider: target.provider, type: target.providerType, beta: flag });
}

/** The client's `anthropic-beta` flags (header, comma-separated) this target accepts, in order. */
export function acceptedBetas(target: UpstreamTarget, header: string | null): string[] {
  const allowed = ALLOWLISTS[target.providerType];
  const flags = (header ?? '')
    .split(',')
    .map((flag) => flag.trim())
    .filter(Boolean)
    .map((flag) => ALIASES[flag] ?? flag);
  const kept: string[] = [];
  for (const flag of flags) {
    if (allowed && !allowed.has(flag)) noteDropped(target, flag);
    else if (!kept.includes(flag)) kept.push(flag);
  }
  return kept;
}

/** Forgets which drops were already logged (tests). */
export function resetBetaNotes(): void {
  noted.clear();
}
