/**
 * `type: bedrock`: Claude models through InvokeModel with the native Anthropic body (invoke.ts);
 * other models (Llama, Mistral, Nova…) through Converse with full translation (converse.ts).
 * A target's model is the Bedrock model id, a cross-region inference profile id
 * (`us.anthropic.claude-…`) or an inference-profile ARN, as the YAML maps it.
 */
import type { UpstreamTarget } from '@/lib/gateway/contracts';
import type { UpstreamAdapter } from '../adapter';
import { bedrockConverseAdapter } from './converse';
import { bedrockInvokeAdapter } from './invoke';

/** Whether the target is served as Claude: as the YAML says, else by what the model id names. */
export function isClaudeOnBedrock(target: UpstreamTarget): boolean {
  if (target.bedrockApi !== undefined) return target.bedrockApi === 'invoke';
  return /(^|[./])anthropic\.|claude/i.test(target.model);
}

function pick(target: UpstreamTarget): UpstreamAdapter {
  return isClaudeOnBedrock(target) ? bedrockInvokeAdapter : bedrockConverseAdapter;
}

export const bedrockAdapter: UpstreamAdapter = {
  prepareMessages: (input, target) => pick(target).prepareMessages(input, target),
  translateMessage: (body, input, target) => pick(target).translateMessage(body, input, target),
  translateStream: (body, input, facts, target) => pick(target).translateStream(body, input, facts, target),
  countTokens: {
    prepare: (input, target) => (isClaudeOnBedrock(target) ? bedrockInvokeAdapter.countTokens!.prepare(input, target) : null),
    translate: (body) => bedrockInvokeAdapter.countTokens!.translate(body),
  },
};
