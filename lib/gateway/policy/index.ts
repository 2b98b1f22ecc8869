// The gateway's request policy: who may call which model, and what a prompt may contain.
// Compiled once per configuration snapshot (each reload or policy version is a new object).
import type { GatehouseConfig } from '@/lib/config';
import { Blocklist } from './blocklist';
import { ScanCache } from './content';
import { ModelAccess } from './model-access';
import { UpstreamFeatures } from './upstream-features';

export { readMessagesBody, type MessagesBody, type ReadBody, type ReadBodyOptions } from './body';
export { inspectContent, ScanCache, type ContentVerdict, type RedactionSummary } from './content';
export { estimateOutputTokens, serverToolAllowance } from './estimate';
export { PromptWalk } from './prompt';
export { Blocklist, type BlocklistHit } from './blocklist';
export { ModelAccess, type AccessSubject } from './model-access';
export { findSecrets, redactSecrets, type SecretFinding } from './secrets';
export { type TextSegment } from './segments';
export { UpstreamFeatures, type FeatureRefusal } from './upstream-features';

export interface CompiledPolicy {
  maxBodyBytes: number;
  secretsMode: 'block' | 'redact';
  blocklist: Blocklist;
  modelAccess: ModelAccess;
  upstreamFeatures: UpstreamFeatures;
  scanCache: ScanCache;
  /** Model ids configured under `models`, for /v1/models and the "not available" check. */
  configuredModels: ReadonlySet<string>;
}

const compiled = new WeakMap<GatehouseConfig, CompiledPolicy>();

export function compiledPolicy(config: GatehouseConfig): CompiledPolicy {
  let policy = compiled.get(config);
  if (!policy) {
    policy = {
      maxBodyBytes: config.policy.max_body_bytes,
      secretsMode: config.policy.secrets.mode,
      blocklist: new Blocklist(config.policy.blocklist.terms, config.policy.blocklist.patterns),
      modelAccess: new ModelAccess(config.policy.model_access),
      upstreamFeatures: new UpstreamFeatures(config.policy.upstream_features),
      scanCache: new ScanCache(),
      configuredModels: new Set(Object.keys(config.models)),
    };
    compiled.set(config, policy);
  }
  return policy;
}
