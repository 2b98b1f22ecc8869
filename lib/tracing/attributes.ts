import type { AttributeValue } from '@opentelemetry/api';
import type { AuditEvent } from '@/lib/audit';

/**
 * OpenTelemetry GenAI / MCP semantic-convention attributes of an audit event (the conventions are
 * at Development stability; names as of semantic-conventions 1.37). Used for the gateway's spans
 * and for the OTLP logs SIEM sink, so both name things the same way.
 */
export function semconvAttributes(event: Pick<AuditEvent, 'gen_ai' | 'mcp' | 'actor' | 'policy' | 'cost'>): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue | undefined> = {
    'gen_ai.operation.name': event.gen_ai?.operation,
    'gen_ai.provider.name': event.gen_ai?.provider,
    'gen_ai.request.model': event.gen_ai?.request_model,
    'gen_ai.request.max_tokens': event.gen_ai?.max_tokens,
    'gen_ai.request.temperature': event.gen_ai?.temperature,
    'gen_ai.request.stream': event.gen_ai?.stream,
    'gen_ai.response.id': event.gen_ai?.response_id,
    'gen_ai.response.model': event.gen_ai?.response_model,
    'gen_ai.response.finish_reasons': event.gen_ai?.finish_reasons,
    'gen_ai.conversation.id': event.gen_ai?.conversation_id,
    'gen_ai.usage.input_tokens': event.gen_ai?.input_tokens,
    'gen_ai.usage.output_tokens': event.gen_ai?.output_tokens,
    'gen_ai.usage.cache_read.input_tokens': event.gen_ai?.cache_read_input_tokens,
    'gen_ai.usage.cache_creation.input_tokens': event.gen_ai?.cache_creation_input_tokens,
    'gen_ai.usage.reasoning.output_tokens': event.gen_ai?.reasoning_output_tokens,
    'gen_ai.tool.name': event.gen_ai?.tool_name ?? event.mcp?.tool,
    'gen_ai.tool.call.id': event.gen_ai?.tool_call_id,
    'mcp.method.name': event.mcp?.method,
    'mcp.session.id': event.mcp?.session_id,
    'mcp.protocol.version': event.mcp?.protocol_version,
    'mcp.resource.uri': event.mcp?.resource_uri,
    'user.id': event.actor?.user_id,
    'gatehouse.department': event.actor?.department,
    'gatehouse.policy.decision': event.policy?.decision,
    'gatehouse.policy.rule': event.policy?.rule,
    'gatehouse.cost.microdollars': event.cost?.microdollars,
  };
  if (event.gen_ai?.time_to_first_chunk_ms !== undefined) attributes['gen_ai.response.time_to_first_chunk'] = event.gen_ai.time_to_first_chunk_ms / 1000;
  return Object.fromEntries(Object.entries(attributes).filter((entry): entry is [string, AttributeValue] => entry[1] !== undefined));
}
