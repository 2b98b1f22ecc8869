import type { CompletionSummary, Usage } from '@/lib/gateway/contracts';
import { estimateOutputTokens } from '@/lib/gateway/policy/estimate';

export interface BilledUsage {
  usage: Usage;
  /** True when the upstream never reported the final usage and these counts are Gatehouse's. */
  estimated: boolean;
}

/**
 * What a call that the upstream answered is billed: the final usage the upstream reported; when
 * it never did (a stream cut before `message_delta`, a server that ignores
 * `stream_options.include_usage`), an estimate that errs long. The prompt side comes from the
 * stream's start (message_start) when it said, else from the admission estimate; the output is
 * the larger of what the start said and what was actually produced (text, tool input and
 * thinking, at one token per 3 bytes). A missing usage is never free.
 */
export function billedUsage(completion: CompletionSummary | null, admission: { estimatedInputTokens: number }): BilledUsage {
  if (completion?.usage) return { usage: completion.usage, estimated: false };
  // A prompt is never zero tokens: a start reporting none is a translation's placeholder.
  const reported = completion?.startUsage ?? null;
  const start = reported && reported.input_tokens + reported.cache_creation_input_tokens + reported.cache_read_input_tokens > 0 ? reported : null;
  const produced = estimateOutputTokens(completion?.outputBytes ?? 0);
  const usage: Usage = {
    input_tokens: start ? start.input_tokens : Math.max(0, Math.ceil(admission.estimatedInputTokens)),
    output_tokens: Math.max(start?.output_tokens ?? 0, produced),
    cache_creation_input_tokens: start?.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: start?.cache_read_input_tokens ?? 0,
  };
  if (start?.server_tool_use) usage.server_tool_use = start.server_tool_use;
  return { usage, estimated: true };
}

/**
 * What a call whose end nobody saw is billed (the reconciler's estimate, recorded on its request
 * event up front): the prompt estimate and all the output it was allowed, since the upstream may
 * have produced it all.
 */
export function unseenCallUsage(estimatedInputTokens: number, expectedOutputTokens: number): Usage {
  const whole = (value: number) => (Number.isFinite(value) && value > 0 ? Math.ceil(value) : 0);
  return { input_tokens: whole(estimatedInputTokens), output_tokens: whole(expectedOutputTokens), cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}
