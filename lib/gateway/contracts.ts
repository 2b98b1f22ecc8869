/**
 * The seams between the gateway's parts, so the request pipeline (handler, policy, evidence), the
 * upstream side (routing, adapters, failover) and the limits side (rate limits, budgets, prices)
 * can change independently. Everything here is Anthropic-shaped: adapters translate at the edge.
 */
import type { ProviderType, RemoteImageMode } from '@/lib/config';
import type { HeaderReader } from '@/lib/http/data-plane-request';
import type { ReplyBody } from '@/lib/http/reply';
import type { Principal } from '@/lib/tokens';

/** Token counts as the Anthropic API reports them (upstreams' own counts are mapped to these). */
export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  /** Server tools the upstream ran and bills per use (Anthropic's `usage.server_tool_use`). */
  server_tool_use?: ServerToolUse;
}

export interface ServerToolUse {
  web_search_requests?: number;
}

/** One concrete upstream to try: a provider from gatehouse.yaml and that provider's model id. */
export interface UpstreamTarget {
  provider: string;
  providerType: ProviderType;
  baseUrl: string;
  /** Name of the environment variable holding the credential; never the credential itself. */
  apiKeyEnv?: string;
  /** The provider's own model name (what goes upstream). */
  model: string;
  /** Deadline to the response headers of a streaming request or count_tokens, ms (provider `timeout_ms`). */
  timeoutMs?: number;
  /** Deadline to the response headers of a non-streaming request, ms (provider `non_streaming_timeout_ms`). */
  nonStreamingTimeoutMs?: number;
  /** After 2xx headers: the longest silence in the body, ms (provider `idle_timeout_ms`, else `timeout_ms`). */
  idleTimeoutMs?: number;
  /** Retries on this target before failing over (provider `max_retries`). */
  maxRetries?: number;
  /** Send user / session / trace attribution headers upstream (provider `forward_attribution`). */
  forwardAttribution?: boolean;
  /** Extra static request headers (provider `headers`). */
  headers?: Record<string, string>;
  /** Azure OpenAI `api-version` (provider `api_version`). */
  apiVersion?: string;
  /** Bedrock: InvokeModel or Converse, when the YAML says (target `api`); else the model id decides. */
  bedrockApi?: 'invoke' | 'converse';
  /** Bedrock and Vertex: the cloud region (provider `region`). */
  region?: string;
  /** Vertex: the Google Cloud project (provider `project`). */
  project?: string;
  /** What becomes of images given by URL (provider `remote_images`); unset: the type's default. */
  remoteImages?: RemoteImageMode;
}

/** What the routing table decided for one request. */
export interface RouteDecision {
  /** The Anthropic-style model id the client asked for. */
  requestedModel: string;
  /** Which route matched (its index in gatehouse.yaml `routes`, or `model:<id>` for a plain model entry). */
  routeName: string;
  /** Tried in order: primary first, fallbacks after. */
  targets: UpstreamTarget[];
  /** Optional cost ceiling for one request, integer microdollars. */
  maxCostMicrodollars?: number;
}

export interface RouteRequest {
  model: string;
  department: string | null;
  roles: string[];
  callSource: string | null;
}

/** Who is asking, as the gateway records it. Identity always comes from the token. */
export interface GatewayCaller {
  principal: Principal;
  traceId: string;
  sessionId: string | null;
  callSource: string | null;
  clientId: string;
  policyVersion: string;
}

/** Headers worth forwarding upstream (anthropic-version, anthropic-beta, x-stainless-*, user-agent…). */
export interface DispatchInput {
  /** The Messages API request body after policy (redactions applied); `model` is the requested id. */
  body: Record<string, unknown>;
  stream: boolean;
  headers: HeaderReader;
  decision: RouteDecision;
  caller: GatewayCaller;
  /** Aborted when the client goes away: the upstream call must be cancelled. */
  signal: AbortSignal;
}

export interface AttemptRecord {
  provider: string;
  model: string;
  /** How the attempt went; `timeout` and `server_error` with a 2xx status: the body failed after the headers. */
  outcome: 'success' | 'connect_error' | 'timeout' | 'rate_limited' | 'server_error' | 'client_error' | 'circuit_open';
  /** The upstream's HTTP status, when it answered one. */
  status?: number;
  durationMs: number;
}

/** A committed upstream answer: status and headers are known, the body streams. */
export interface DispatchResult {
  target: UpstreamTarget;
  attempts: AttemptRecord[];
  status: number;
  /** Response headers to relay (hop-by-hop and upstream rate-limit headers already removed). */
  headers: Headers;
  /**
   * Anthropic-format body: SSE (`text/event-stream`) when streaming, JSON otherwise, and the
   * Anthropic error envelope for upstream errors (account details removed).
   */
  body: ReplyBody;
  /**
   * Settles once the body has been fully produced (or failed): the usage, stop reason and response
   * model the upstream reported. Usage is null when the upstream never said.
   */
  completion: Promise<CompletionSummary>;
}

export interface CompletionSummary {
  /**
   * The final usage the upstream reported (Anthropic: message_delta, or the message; OpenAI: the
   * usage chunk or object). Null when it never did, e.g. a stream cut before its end.
   */
  usage: Usage | null;
  /** Usage reported at the start of a stream (message_start: the prompt side), when the final count never came. */
  startUsage?: Usage | null;
  /**
   * UTF-8 bytes of output the upstream produced (text, tool input JSON and thinking, relayed or
   * not), to estimate output tokens from when the usage is missing. Absent: nothing was produced.
   */
  outputBytes?: number;
  stopReason: string | null;
  responseModel: string | null;
  responseId: string | null;
  /** The assistant's text and tool calls, for the content store (not for the client). */
  content: unknown[];
  /** Set when the stream failed after the first byte (an `event: error` was sent to the client). */
  error?: { type: string; message: string };
  /** Milliseconds from dispatch to the first byte of the upstream body. */
  timeToFirstByteMs: number | null;
}

/** Raised when no target could answer before the first byte: every failover option is spent. */
export class UpstreamUnavailableError extends Error {
  constructor(
    message: string,
    readonly attempts: AttemptRecord[],
    /** Whether the last failure was the upstreams being overloaded (529) rather than broken (5xx). */
    readonly overloaded: boolean,
  ) {
    super(message);
    this.name = 'UpstreamUnavailableError';
  }
}
