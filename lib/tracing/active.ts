/**
 * OpenTelemetry for the data plane the Node server answers itself (/v1/*, OAuth, MCP). One SERVER
 * span per request whose trace id is the request's audit trace_id: the x-trace-id or traceparent
 * the client sent, or else one chosen here that the gateway then records (activeTraceId). Spans are
 * exported only when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set.
 */
import { randomBytes } from 'node:crypto';
import { context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { AuditEvent } from '@/lib/audit/event';
import type { DataPlaneRequest, HeaderReader } from '@/lib/http/data-plane-request';
import { DirectReply, headerRecord, type DataPlaneReply, type StreamedBody } from '@/lib/http/reply';
import { semconvAttributes } from './attributes';

const TRACER = 'gatehouse.data-plane';
const TRACE_ID = /^[0-9a-f]{32}$/;

/**
 * Trace ids for new root spans: the one the data plane asks for (its audit trace id), else random.
 * startSpan is synchronous, so setting `next` right before it cannot be raced.
 */
class AuditTraceIds {
  next: string | undefined;

  generateTraceId(): string {
    const id = this.next ?? randomBytes(16).toString('hex');
    this.next = undefined;
    return id;
  }

  generateSpanId(): string {
    return randomBytes(8).toString('hex');
  }
}

interface TracingState {
  ids: AuditTraceIds;
  /** Recent request spans by trace id, so spans made from audit events recorded later hang under them. */
  recent: Map<string, { span: Span; at: number }>;
  registered: boolean;
  /** Registered with an OTLP endpoint to export to: only then are spans made at all. */
  exporting: boolean;
}

const RECENT_MS = 10 * 60_000;
const RECENT_MAX = 10_000;

// On globalThis: instrumentation.ts (bundled by Next) and the data plane share one registration.
const globalTracing = globalThis as typeof globalThis & { __gatehouseTracing?: TracingState };

export function tracingState(): TracingState {
  globalTracing.__gatehouseTracing ??= { ids: new AuditTraceIds(), recent: new Map(), registered: false, exporting: false };
  return globalTracing.__gatehouseTracing;
}

function remember(traceId: string, span: Span): void {
  const { recent } = tracingState();
  const now = Date.now();
  recent.delete(traceId);
  recent.set(traceId, { span, at: now });
  // Insertion order is age order: drop from the front.
  for (const [key, entry] of recent) {
    if (recent.size <= RECENT_MAX && now - entry.at < RECENT_MS) break;
    recent.delete(key);
  }
}

/** The trace id of the span this code runs in, when tracing is on: the one a new audit trace id should be. */
export function activeTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/**
 * A CLIENT span for an inference or MCP tool call, made from its audit event once recorded: it
 * carries the GenAI / MCP attributes, spans the call's duration, and sits under the request's
 * span (same trace id as the event in any case).
 */
export function spanForAuditEvent(event: AuditEvent): void {
  const tracing = tracingState();
  if (!tracing.exporting) return;
  const isInference = event.event_type === 'inference.response' && event.gen_ai;
  const isTool = event.event_type === 'mcp.tool_call' && event.mcp;
  if (!isInference && !isTool) return;
  const durationMs = event.gen_ai?.duration_ms ?? event.mcp?.duration_ms ?? 0;
  const name = isInference
    ? `${event.gen_ai!.operation} ${event.gen_ai!.request_model ?? ''}`.trim()
    : event.mcp!.tool
      ? `execute_tool ${event.mcp!.tool}`
      : `${event.mcp!.method} ${event.mcp!.server}`;
  const parentSpan = tracing.recent.get(event.trace_id)?.span;
  const parent = parentSpan ? trace.setSpan(ROOT_CONTEXT, parentSpan) : ROOT_CONTEXT;
  if (!parentSpan) tracing.ids.next = event.trace_id;
  const endTime = Date.now();
  const attributes: Attributes = { ...semconvAttributes(event), 'gatehouse.event_id': event.event_id, 'gatehouse.outcome': event.outcome };
  if (isTool && !attributes['gen_ai.operation.name']) attributes['gen_ai.operation.name'] = 'execute_tool';
  if (event.error) attributes['error.type'] = event.error.type;
  const span = trace.getTracer(TRACER).startSpan(name, { kind: SpanKind.CLIENT, startTime: endTime - durationMs, attributes }, parent);
  tracing.ids.next = undefined;
  if (event.outcome === 'failure') span.setStatus({ code: SpanStatusCode.ERROR, message: event.error?.message?.slice(0, 200) ?? 'failed' });
  span.end(endTime);
}

/** Ends the span when the body has been sent (or abandoned), not when the headers are. */
function endWithBody(response: Response, end: (error?: unknown) => void): Response {
  if (!response.body) {
    end();
    return response;
  }
  const tracked = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      flush: () => end(),
    }),
  );
  // A client that goes away cancels the stream: the transform's flush never runs.
  const reader = tracked.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        end(error);
        controller.error(error);
      }
    },
    cancel(reason) {
      end(reason ?? 'cancelled');
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** What a SERVER span is named and labelled from. */
interface TracedRequest {
  method: string;
  path: string;
  host: string;
  headers: HeaderReader;
}

/**
 * Runs `run` inside a SERVER span named `{METHOD} {route}`. `traceId` is the request's audit trace
 * id when the request names one; a traceparent with that trace id becomes the remote parent.
 * `endWith` ends the span once the answer's body is sent.
 */
async function inServerSpan<R extends { status: number }>(
  request: TracedRequest,
  route: string,
  traceId: string | undefined,
  run: () => Promise<R>,
  endWith: (reply: R, end: (error?: unknown) => void) => R,
): Promise<R> {
  const tracing = tracingState();
  const extracted = propagation.extract(ROOT_CONTEXT, headerRecord(request.headers));
  const remote = trace.getSpanContext(extracted);
  const parent = remote && isSpanContextValid(remote) && (!traceId || remote.traceId === traceId) ? extracted : ROOT_CONTEXT;
  if (parent === ROOT_CONTEXT && traceId && TRACE_ID.test(traceId)) tracing.ids.next = traceId;
  // Gateway paths are few and fixed but for model ids: name the span by the path, not `/v1/*`.
  const name = route.endsWith('/*') ? request.path.replace(/^\/v1\/models\/.+$/, '/v1/models/{id}') : route;
  const span = trace.getTracer(TRACER).startSpan(
    `${request.method} ${name}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': request.method, 'url.path': request.path, 'http.route': route, 'server.address': request.host },
    },
    parent,
  );
  tracing.ids.next = undefined;
  remember(span.spanContext().traceId, span);
  let ended = false;
  const end = (error?: unknown) => {
    if (ended) return;
    ended = true;
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    span.end();
  };
  try {
    const reply = await context.with(trace.setSpan(parent, span), run);
    span.setAttribute('http.response.status_code', reply.status);
    if (reply.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    return endWith(reply, end);
  } catch (error) {
    end(error);
    throw error;
  }
}

/** Runs a Web data-plane handler inside its SERVER span (see inServerSpan). */
export async function traceRequest(request: Request, route: string, traceId: string | undefined, run: () => Promise<Response>): Promise<Response> {
  if (!tracingState().exporting) return run();
  const url = new URL(request.url);
  return inServerSpan({ method: request.method, path: url.pathname, host: url.hostname, headers: request.headers }, route, traceId, run, endWithBody);
}

/**
 * The host name of a Host header (`example.com:3000` → `example.com`, `[::1]:3000` → `::1`), parsed
 * as a URL's authority: a header that is not one (a path, credentials, spaces) is not a span
 * attribute a client may write freely, and reads as `localhost` like a missing one.
 */
function hostName(host: string | null): string {
  if (!host || /[/?#@\\\s]/.test(host) || !URL.canParse(`http://${host}`)) return 'localhost';
  return new URL(`http://${host}`).hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Ends the span when a native reply's body has been written (or abandoned). */
function endWithReply(reply: DataPlaneReply, end: (error?: unknown) => void): DataPlaneReply {
  if (reply instanceof Response) return endWithBody(reply, end);
  const { body } = reply;
  if (body === null || body instanceof Uint8Array) {
    end();
    return reply;
  }
  const tracked: StreamedBody = {
    pipeTo: (sink) =>
      body.pipeTo(sink).then(
        () => end(),
        (error: unknown) => {
          end(error);
          throw error;
        },
      ),
  };
  return new DirectReply(reply.status, reply.headers, tracked);
}

/** Runs a Node-native data-plane handler inside its SERVER span (see inServerSpan). */
export async function traceDataPlaneRequest(request: DataPlaneRequest, route: string, traceId: string | undefined, run: () => Promise<DataPlaneReply>): Promise<DataPlaneReply> {
  if (!tracingState().exporting) return run();
  return inServerSpan({ method: request.method, path: request.path, host: hostName(request.headers.get('host')), headers: request.headers }, route, traceId, run, endWithReply);
}
