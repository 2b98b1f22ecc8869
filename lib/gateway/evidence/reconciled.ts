// The response event the reconciler writes for a call whose gateway never recorded its end: the
// request event's identity (who, which call, which trace, under which policy), outcome `unknown`,
// and the usage and cost the call was billed at.
import { appendAuditEvent, type AuditEvent, type AuditEventInput } from '@/lib/audit';
import type { Usage } from '@/lib/gateway/contracts';

export interface ReconciledResponse {
  usage: Usage;
  costMicrodollars: number | null;
  usageEstimated: boolean;
  /** How long after the request the call was closed, for the error message. */
  closedAfterSeconds: number;
}

/** The `inference.response` closing `request`; resolves once committed. */
export async function recordReconciledResponse(request: AuditEvent, closed: ReconciledResponse): Promise<void> {
  const attributes: Record<string, string | number | boolean> = { call_id: request.attributes?.call_id ?? request.event_id, recorded_by: 'reconciler' };
  for (const name of ['route', 'route.targets', 'client_policy_version'] as const) {
    const value = request.attributes?.[name];
    if (value !== undefined) attributes[name] = value;
  }
  if (closed.usageEstimated) attributes.usage_estimated = true;
  const event: AuditEventInput = {
    tenant_id: request.tenant_id,
    event_type: 'inference.response',
    action: request.action,
    outcome: 'unknown',
    trace_id: request.trace_id,
    gen_ai: {
      operation: request.gen_ai?.operation ?? 'chat',
      // Which target answered (if any did) died with the gateway.
      provider: 'unknown',
      ...(request.gen_ai?.request_model ? { request_model: request.gen_ai.request_model } : {}),
      ...(request.gen_ai?.stream !== undefined ? { stream: request.gen_ai.stream } : {}),
      input_tokens: closed.usage.input_tokens,
      output_tokens: closed.usage.output_tokens,
      cache_creation_input_tokens: closed.usage.cache_creation_input_tokens,
      cache_read_input_tokens: closed.usage.cache_read_input_tokens,
    },
    error: {
      type: 'call_not_closed',
      message: `the gateway recorded no end for this call; closed by the reconciler ${Math.round(closed.closedAfterSeconds)} s after it started`,
    },
    attributes,
  };
  if (closed.costMicrodollars !== null) event.cost = { microdollars: closed.costMicrodollars };
  for (const field of ['actor', 'client_id', 'session_id', 'call_source', 'policy_version', 'origin'] as const) {
    if (request[field] !== undefined) Object.assign(event, { [field]: request[field] });
  }
  await appendAuditEvent(event);
}
