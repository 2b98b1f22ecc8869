/**
 * Bedrock Converse / ConverseStream for models that are not Claude:
 *   POST {base}/model/{model id}/converse          JSON
 *   POST {base}/model/{model id}/converse-stream   AWS event-stream
 * signed like InvokeModel (signing.ts); translation in converse-request.ts and converse-response.ts.
 */
import type { DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { isRecord } from '@/lib/platform/json';
import type { PreparedRequest, UpstreamAdapter } from '../adapter';
import { applyProviderHeaders } from '../headers';
import { translateConverseRequest } from './converse-request';
import { translateConverseMessage, translateConverseStream } from './converse-response';
import { bedrockModelUrl } from './invoke';
import { authorizeBedrock } from './signing';

async function prepareMessages(input: DispatchInput, target: UpstreamTarget): Promise<PreparedRequest> {
  const headers = new Headers({ 'content-type': 'application/json', accept: 'application/json' });
  applyProviderHeaders(headers, target, input.caller);
  const url = bedrockModelUrl(target, input.stream ? 'converse-stream' : 'converse');
  return authorizeBedrock({ url, headers, body: JSON.stringify(translateConverseRequest(input)) }, target);
}

const encoder = new TextEncoder();

export const bedrockConverseAdapter: UpstreamAdapter = {
  prepareMessages,
  translateMessage(body, _input, target) {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(body));
    if (!isRecord(parsed) || !isRecord(parsed.output)) throw new Error('upstream answered 2xx with a body that is not a Converse response');
    const translated = translateConverseMessage(parsed, target.model);
    return { bytes: encoder.encode(JSON.stringify(translated.message)), facts: { usageReported: translated.usageReported, hiddenOutputBytes: translated.reasoningBytes } };
  },
  translateStream: translateConverseStream,
};
