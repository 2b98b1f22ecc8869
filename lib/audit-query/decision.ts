import type { AuditEvent } from '@/lib/audit';
import type { PolicyConfig } from '@/lib/config';

const VERBS: Record<string, string> = { block: 'blocked', redact: 'redacted', deny: 'denied', allow: 'allowed', ask: 'asked' };

const TERM = /^policy\.blocklist\.terms\[(\d+)\]$/;
const PATTERN = /^policy\.blocklist\.patterns\[(\d+)\]$/;
const SECRET = /^policy\.secrets\.(.+)$/;
// The kind of secret as the gateway's reasons name it: "2 × AWS Access Key ID replaced…" or "…a secret (AWS Access Key ID) in…".
const REDACTED_KIND = /^\d+ × (.+?) replaced/;
const BLOCKED_KIND = /a secret \(([^)]+)\)/;

/**
 * The policy decision of an event in words, e.g. "blocked: blocklist term `project-nightingale`"
 * or "redacted: AWS Access Key ID". `policy` is the configuration the event was decided under
 * (its policy_version), when known: rules name terms and patterns by index only, so that the
 * matched text never sits in the event, and the words come from the policy itself.
 */
export function describeDecision(event: Pick<AuditEvent, 'policy' | 'policy_version'>, policy: PolicyConfig | null): string | null {
  const decision = event.policy;
  if (!decision) return null;
  const verb = VERBS[decision.decision] ?? decision.decision;
  const rule = decision.rule;
  if (!rule) return decision.reason ? `${verb}: ${decision.reason}` : verb;
  const unknownVersion = `(policy ${event.policy_version ?? 'version unknown'} is not stored, so the text is not known here)`;

  const term = TERM.exec(rule);
  if (term) {
    const text = policy?.blocklist.terms[Number(term[1])];
    return text !== undefined ? `${verb}: blocklist term \`${text}\`` : `${verb}: blocklist term #${term[1]} ${unknownVersion}`;
  }
  const pattern = PATTERN.exec(rule);
  if (pattern) {
    const text = policy?.blocklist.patterns[Number(pattern[1])];
    return text !== undefined ? `${verb}: blocklist pattern \`${text}\`` : `${verb}: blocklist pattern #${pattern[1]} ${unknownVersion}`;
  }
  const secret = SECRET.exec(rule);
  if (secret) {
    const kind = REDACTED_KIND.exec(decision.reason ?? '')?.[1] ?? BLOCKED_KIND.exec(decision.reason ?? '')?.[1] ?? `secret (${secret[1]} rule)`;
    return `${verb}: ${kind}`;
  }
  if (rule === 'policy.model_access') return `${verb}: no model-access rule allows this model for the caller`;
  if (rule.startsWith('rbac.')) return `${verb}: no role of the caller grants ${rule.slice('rbac.'.length)}`;
  if (rule.startsWith('limits.') || rule.startsWith('route.')) return `${verb}: limit ${rule}${decision.reason ? ` (${decision.reason})` : ''}`;
  return `${verb}: ${rule}${decision.reason ? ` (${decision.reason})` : ''}`;
}
