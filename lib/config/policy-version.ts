import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { GatehouseConfig } from './schema';

/**
 * Identifies the effective policy, not the file: hashing the canonical JSON of the validated
 * config (defaults applied, keys sorted) means reformatting or comment edits keep the version,
 * while any semantic change moves it. Audit events carry it so a decision can be traced to the
 * exact policy in force.
 */
export function policyVersion(config: GatehouseConfig): string {
  const canonical = canonicalize(config);
  if (canonical === undefined) throw new Error('config cannot be canonicalised');
  return `pv_${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`;
}
