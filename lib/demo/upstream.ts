/**
 * The demo upstream (`npm run demo:upstream`): a stand-in model provider on 127.0.0.1, so
 * Gatehouse can be tried with no provider account. One port serves both wire formats a Gatehouse
 * provider can speak, with the same wire-format code as the tests' fake upstreams:
 *
 *   POST /v1/messages, /v1/messages/count_tokens   the Anthropic Messages API (JSON and SSE)
 *   POST /v1/chat/completions                      OpenAI Chat Completions (JSON and SSE, usage
 *                                                  when stream_options.include_usage)
 *
 * Answers come from lib/demo/replies.ts. No key is checked: it listens on loopback only.
 */
import { anthropicWire } from '@/lib/gateway/fake-upstreams/anthropic';
import { openAIWire } from '@/lib/gateway/fake-upstreams/openai';
import { startFakeUpstream, type FakeErrorBehaviour, type FakeServer, type RecordedRequest, type WireFormat } from '@/lib/gateway/fake-upstreams/server';
import { anthropicDemoReply, openAIDemoReply } from './replies';

/** Where the demo upstream listens unless told otherwise; gatehouse.example.yaml points here. */
export const DEMO_UPSTREAM_PORT = 8790;

export type DemoUpstream = FakeServer<undefined>;

export interface DemoUpstreamOptions {
  port?: number;
  /** Called once per request, e.g. to print a line for it. */
  onRequest?: (request: RecordedRequest) => void;
}

function notJson(request: RecordedRequest): FakeErrorBehaviour {
  return { kind: 'error', status: 400, errorType: 'invalid_request_error', message: `${request.path}: the body must be a JSON object` };
}

/** Both wire formats on one server: the request's path picks the format, the demo picks the reply. */
const demoWire: WireFormat<undefined> = {
  serves: (request) => anthropicWire.serves(request) || openAIWire.serves(request),
  notFound: anthropicWire.notFound,
  presentsKey: () => true,
  badKey: anthropicWire.badKey,
  sendError: anthropicWire.sendError,
  async answer({ request, res }) {
    if (openAIWire.serves(request)) {
      if (request.body === null) openAIWire.sendError(res, notJson(request));
      else await openAIWire.answer({ request, res, behaviour: { kind: 'reply', reply: openAIDemoReply(request.body) } });
      return;
    }
    if (request.body === null) anthropicWire.sendError(res, notJson(request));
    else await anthropicWire.answer({ request, res, behaviour: { kind: 'reply', reply: anthropicDemoReply(request.body) } });
  },
};

/** Starts the demo upstream on 127.0.0.1 (a taken port rejects with EADDRINUSE). */
export function startDemoUpstream(options: DemoUpstreamOptions = {}): Promise<DemoUpstream> {
  return startFakeUpstream<undefined>(
    { port: options.port ?? DEMO_UPSTREAM_PORT, recordRequests: false, ...(options.onRequest ? { onRequest: options.onRequest } : {}) },
    demoWire,
  );
}
