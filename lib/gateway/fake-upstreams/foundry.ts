/**
 * A fake Microsoft Azure AI Foundry resource on 127.0.0.1: its Anthropic endpoint is the Messages
 * API under `/anthropic` (`POST /anthropic/v1/messages`, `/anthropic/v1/messages/count_tokens`),
 * with Anthropic's answers and error envelope (anthropic.ts). The key comes as `api-key` or
 * `x-api-key`; an Entra ID token as `Authorization: Bearer`.
 */
import { anthropicWire, type FakeAnthropic, type FakeAnthropicReply } from './anthropic';
import { startFakeUpstream, type FakeUpstreamOptions, type RecordedRequest, type WireFormat } from './server';

const PREFIX = '/anthropic';

/** The request as the Messages API sees it, with the resource's /anthropic prefix taken off. */
function unprefixed(request: RecordedRequest): RecordedRequest {
  return { ...request, path: request.path.slice(PREFIX.length), url: request.url.slice(PREFIX.length) };
}

const foundryWire: WireFormat<FakeAnthropicReply> = {
  ...anthropicWire,
  serves: (request) => request.path.startsWith(`${PREFIX}/`) && anthropicWire.serves(unprefixed(request)),
  presentsKey: (request, key) => request.headers['api-key'] === key || request.headers['x-api-key'] === key || request.headers.authorization === `Bearer ${key}`,
  answer: ({ request, behaviour, res }) => anthropicWire.answer({ request: unprefixed(request), behaviour, res }),
};

export function startFakeFoundry(options: FakeUpstreamOptions<FakeAnthropicReply> = {}): Promise<FakeAnthropic> {
  return startFakeUpstream<FakeAnthropicReply>(options, foundryWire);
}
