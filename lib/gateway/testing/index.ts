export {
  inSequence,
  type BehaviourScript,
  type FakeBehaviour,
  type FakeErrorBehaviour,
  type FakeReplyIdentity,
  type FakeServer,
  type FakeServerOptions,
  type FakeUpstreamOptions,
  type RecordedRequest,
} from '@/lib/gateway/fake-upstreams/server';
export {
  anthropicFailures,
  DEFAULT_ANTHROPIC_TEXT,
  startFakeAnthropic,
  textReply,
  toolUseReply,
  type FakeAnthropic,
  type FakeAnthropicBehaviour,
  type FakeAnthropicBlock,
  type FakeAnthropicOptions,
  type FakeAnthropicReply,
} from '@/lib/gateway/fake-upstreams/anthropic';
export {
  DEFAULT_OPENAI_TEXT,
  openAIFailures,
  startFakeOpenAI,
  type FakeOpenAI,
  type FakeOpenAIBehaviour,
  type FakeOpenAIOptions,
  type FakeOpenAIReply,
  type FakeOpenAIToolCall,
} from '@/lib/gateway/fake-upstreams/openai';
export { bedrockFailures, exceptionFrame, FAKE_AWS_CREDENTIALS, startFakeBedrock, type FakeBedrock, type FakeBedrockBehaviour, type FakeBedrockOptions, type FakeBedrockReply } from '@/lib/gateway/fake-upstreams/bedrock';
export { DEFAULT_GEMINI_TEXT, geminiFailures, startFakeGemini, type FakeGemini, type FakeGeminiBehaviour, type FakeGeminiOptions, type FakeGeminiReply } from '@/lib/gateway/fake-upstreams/gemini';
export { startFakeVertex, type FakeVertex, type FakeVertexBehaviour, type FakeVertexReply } from '@/lib/gateway/fake-upstreams/vertex';
export { startFakeFoundry } from '@/lib/gateway/fake-upstreams/foundry';
export { anthropicTarget, dispatchInput, openAITarget, testCaller, type TestDispatchOptions } from './dispatch-input';
export { eventNames, readAll, readText, sdkReading, webBody } from './stream-helpers';
export { startFakeImageServer, TINY_PNG, type FakeImageServer } from './fake-images';
