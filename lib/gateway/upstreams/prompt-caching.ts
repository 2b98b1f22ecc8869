/**
 * `cache_control` where the upstream cannot express it (OpenAI-compatible servers and Gemini cache
 * prompt prefixes on their own): the breakpoints are dropped in translation, and the operator is
 * told once per provider, since the client asked for something it will not get.
 */
import type { UpstreamTarget } from '@/lib/gateway/contracts';
import { upstreamTuning } from './tuning';

const noted = new Set<string>();

function hasCacheControl(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasCacheControl);
  if (typeof value !== 'object' || value === null) return false;
  return 'cache_control' in value || Object.values(value).some((inner) => typeof inner === 'object' && hasCacheControl(inner));
}

/** Notes (once per provider) that the request's cache_control breakpoints were dropped, if it had any. */
export function noteDroppedCacheControl(body: Record<string, unknown>, target: UpstreamTarget): void {
  if (noted.has(target.provider) || noted.size > 1_000) return;
  if (!hasCacheControl(body.system) && !hasCacheControl(body.messages) && !hasCacheControl(body.tools)) return;
  noted.add(target.provider);
  upstreamTuning().logger.warn('cache_control dropped: this upstream has no per-block cache breakpoints (it caches prompt prefixes on its own, if at all)', { provider: target.provider, type: target.providerType });
}
