import { hostname } from 'node:os';
import type { SiemSinkType } from '@/lib/config';
import { isRecord } from '@/lib/platform/json';
import type { ForwardRecord } from './records';
import type { ResolvedSink } from './sinks';

/** What a vendor answered about one request. */
export type SendVerdict =
  | { ok: true }
  | {
      ok: false;
      message: string;
      /** How many leading records of the request were stored all the same (partial bulk success). */
      accepted: number;
      /** From Retry-After, when the vendor gave one. */
      retryAfterMs?: number;
    };

export interface VendorFormat {
  /** Documented per-request limits: most records and most uncompressed bytes. */
  maxEvents: number;
  maxBytes: number;
  gzip: boolean;
  contentType: string;
  endpoint(sink: ResolvedSink): string;
  /** Headers carrying the secret and the vendor's routing metadata. */
  headers(sink: ResolvedSink): Record<string, string>;
  /** One record, serialised as it appears in the body. */
  encode(record: ForwardRecord, sink: ResolvedSink): string;
  /** The request body for records encoded by encode(). */
  frame(items: readonly string[], sink: ResolvedSink): string;
  /** Bytes frame() adds for n items beyond the items themselves (upper bound). */
  overhead(count: number): number;
  /** Reads a 2xx answer (per-item status for bulk APIs). */
  checkSuccess(body: string, count: number): SendVerdict;
  /** Reads a non-2xx answer's body for how many records were kept. */
  acceptedOnError?(body: string): number;
}

const HOST = hostname();
const SERVICE = 'gatehouse';

/** One header when the sink has a secret, none otherwise. */
function secretHeader(sink: ResolvedSink, name: string, value: (secret: string) => string): Record<string, string> {
  return sink.secret ? { [name]: value(sink.secret) } : {};
}

function withPath(url: string, suffix: string, unless: RegExp): string {
  const parsed = new URL(url);
  if (unless.test(parsed.pathname)) return parsed.toString();
  parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}${suffix}`;
  return parsed.toString();
}

function ndjson(items: readonly string[]): string {
  return items.length === 0 ? '' : `${items.join('\n')}\n`;
}

function epochSeconds(iso: string): number {
  return new Date(iso).getTime() / 1000;
}

function docField<T>(record: ForwardRecord, ...path: string[]): T | undefined {
  let node: unknown = record.doc;
  for (const part of path) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part] : undefined;
  return node as T | undefined;
}

/** One line a person reads in a log viewer. */
function summary(record: ForwardRecord): string {
  const action = docField<string>(record, 'action') ?? record.event_type;
  const outcome = docField<string>(record, 'outcome') ?? 'unknown';
  const who = docField<string>(record, 'actor', 'email');
  const rule = docField<string>(record, 'policy', 'rule');
  return `${record.event_type} ${action} ${outcome}${who ? ` by ${who}` : ''}${rule ? ` (rule ${rule})` : ''}`;
}

function plainTags(record: ForwardRecord): Record<string, string> {
  const tags: Record<string, string> = { event_type: record.event_type, outcome: docField<string>(record, 'outcome') ?? 'unknown' };
  const tenant = docField<string>(record, 'tenant_id');
  if (tenant) tags.tenant_id = tenant;
  const trace = docField<string>(record, 'trace_id');
  if (trace) tags.trace_id = trace;
  if (record.department) tags.department = record.department;
  return tags;
}

// ---------------------------------------------------------------------------------------------
// Elastic: ECS fields plus the gen_ai.* field set (the same names as OpenTelemetry).

const ECS_CATEGORY: Record<string, { category: string[]; type: string[] }> = {
  'inference.request': { category: ['api'], type: ['access'] },
  'inference.response': { category: ['api'], type: ['access'] },
  'mcp.tool_call': { category: ['api'], type: ['access'] },
  'plugin.lifecycle': { category: ['library'], type: ['change'] },
  'auth.sign_in': { category: ['authentication', 'session'], type: ['start'] },
  'auth.sign_out': { category: ['authentication', 'session'], type: ['end'] },
  'admin.change': { category: ['configuration', 'iam'], type: ['change'] },
  'policy.decision': { category: ['api'], type: ['info'] },
  'system.housekeeping': { category: ['process'], type: ['info'] },
  'config.reload': { category: ['configuration'], type: ['change'] },
  'audit.checkpoint': { category: ['configuration'], type: ['info'] },
};

function compact(value: Record<string, unknown>): Record<string, unknown> | undefined {
  const entries = Object.entries(value).filter(([, inner]) => inner !== undefined && !(isRecord(inner) && Object.keys(inner).length === 0));
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** The ECS document for one record (exported for tests and the README's field list). */
export function ecsDocument(record: ForwardRecord): Record<string, unknown> {
  const doc = record.doc;
  const get = <T>(...path: string[]) => docField<T>(record, ...path);
  const outcome = get<string>('outcome');
  const decision = get<string>('policy', 'decision');
  const base = ECS_CATEGORY[record.event_type] ?? { category: ['api'], type: ['info'] };
  const type = outcome === 'denied' || decision === 'block' || decision === 'deny' ? [...base.type.filter((t) => t !== 'info'), 'denied'] : base.type;
  const durationMs = get<number>('gen_ai', 'duration_ms') ?? get<number>('mcp', 'duration_ms');
  const genAi = compact({
    operation: compact({ name: get('gen_ai', 'operation') }),
    provider: compact({ name: get('gen_ai', 'provider') }),
    request: compact({ model: get('gen_ai', 'request_model'), max_tokens: get('gen_ai', 'max_tokens'), temperature: get('gen_ai', 'temperature') }),
    response: compact({ id: get('gen_ai', 'response_id'), model: get('gen_ai', 'response_model'), finish_reasons: get('gen_ai', 'finish_reasons') }),
    usage: compact({ input_tokens: get('gen_ai', 'input_tokens'), output_tokens: get('gen_ai', 'output_tokens') }),
    tool: compact({ name: get('gen_ai', 'tool_name') ?? get('mcp', 'tool'), call: compact({ id: get('gen_ai', 'tool_call_id') }) }),
    conversation: compact({ id: get('gen_ai', 'conversation_id') }),
  });
  return {
    '@timestamp': record.occurred_at,
    ecs: { version: '8.17.0' },
    event: compact({
      id: record.event_id,
      kind: 'event',
      category: base.category,
      type,
      action: get('action'),
      outcome: outcome === 'success' ? 'success' : outcome === 'failure' || outcome === 'denied' ? 'failure' : 'unknown',
      duration: durationMs === undefined ? undefined : durationMs * 1_000_000,
      sequence: record.kind === 'audit_event' ? record.position : undefined,
      dataset: 'gatehouse.audit',
      provider: SERVICE,
      reason: get('policy', 'reason'),
      hash: get('integrity', 'hash'),
    }),
    trace: compact({ id: get('trace_id') }),
    span: compact({ id: get('span_id') }),
    user: compact({ id: get('actor', 'user_id'), email: get('actor', 'email'), roles: get('actor', 'roles') }),
    organization: compact({ id: get('tenant_id') }),
    client: compact({ ip: get('origin', 'ip') }),
    user_agent: compact({ original: get('origin', 'user_agent') }),
    service: { name: SERVICE },
    ...(genAi ? { gen_ai: genAi } : {}),
    labels: plainTags(record),
    gatehouse: doc,
  };
}

const elastic: VendorFormat = {
  maxEvents: 1_000,
  maxBytes: 5 * 1024 * 1024,
  gzip: true,
  contentType: 'application/x-ndjson',
  endpoint: (sink) => withPath(sink.url, `/${encodeURIComponent(sink.index ?? 'logs-gatehouse.audit-default')}/_bulk`, /\/_bulk$/),
  headers: (sink) => secretHeader(sink, 'authorization', (secret) => (/^(ApiKey|Basic|Bearer) /.test(secret) ? secret : `ApiKey ${secret}`)),
  // `create` with _id = event_id: a redelivered event is a 409 for that item, counted as stored.
  encode: (record) => `${JSON.stringify({ create: { _id: record.event_id } })}\n${JSON.stringify(ecsDocument(record))}`,
  frame: ndjson,
  overhead: (count) => count,
  checkSuccess(body, count) {
    let parsed: { errors?: boolean; items?: Record<string, { status?: number; error?: { type?: string; reason?: string } }>[] };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      return { ok: false, message: 'the _bulk answer is not JSON', accepted: 0 };
    }
    const items = parsed.items ?? [];
    if (items.length !== count) return { ok: false, message: `the _bulk answer lists ${items.length} items for ${count} sent`, accepted: 0 };
    const firstFailed = items.findIndex((item) => {
      const status = Object.values(item)[0]?.status ?? 0;
      return !((status >= 200 && status < 300) || status === 409);
    });
    if (firstFailed < 0) return { ok: true };
    const failed = Object.values(items[firstFailed]!)[0]!;
    const failures = items.filter((item) => {
      const status = Object.values(item)[0]?.status ?? 0;
      return !((status >= 200 && status < 300) || status === 409);
    }).length;
    return {
      ok: false,
      message: `${failures} of ${count} bulk items refused; first: ${failed.status} ${failed.error?.type ?? ''} ${failed.error?.reason ?? ''}`.trim(),
      accepted: firstFailed,
    };
  },
};

// ---------------------------------------------------------------------------------------------

const splunk: VendorFormat = {
  maxEvents: 1_000,
  maxBytes: 1024 * 1024,
  gzip: true,
  contentType: 'application/json',
  endpoint: (sink) => withPath(sink.url, '/services/collector/event', /\/services\/collector/),
  headers: (sink) => secretHeader(sink, 'authorization', (secret) => `Splunk ${secret}`),
  encode: (record, sink) =>
    JSON.stringify({
      time: epochSeconds(record.occurred_at),
      host: HOST,
      source: SERVICE,
      sourcetype: sink.source ?? 'gatehouse:audit',
      ...(sink.index ? { index: sink.index } : {}),
      event: record.doc,
      fields: plainTags(record),
    }),
  // Batched HEC events are JSON objects one after another, not an array.
  frame: (items) => items.join('\n'),
  overhead: (count) => count,
  checkSuccess(body) {
    try {
      const parsed = JSON.parse(body) as { code?: number; text?: string };
      if (parsed.code === undefined || parsed.code === 0) return { ok: true };
      return { ok: false, message: `HEC code ${parsed.code}: ${parsed.text ?? ''}`, accepted: 0 };
    } catch {
      return { ok: true };
    }
  },
  acceptedOnError(body) {
    try {
      const invalid = (JSON.parse(body) as { 'invalid-event-number'?: number })['invalid-event-number'];
      return typeof invalid === 'number' && invalid > 0 ? invalid : 0;
    } catch {
      return 0;
    }
  },
};

const datadog: VendorFormat = {
  maxEvents: 1_000,
  maxBytes: 5 * 1024 * 1024,
  gzip: true,
  contentType: 'application/json',
  endpoint: (sink) => withPath(sink.url, '/api/v2/logs', /\/api\/v2\/logs$/),
  headers: (sink) => secretHeader(sink, 'dd-api-key', (secret) => secret),
  encode: (record, sink) =>
    JSON.stringify({
      ...record.doc,
      ddsource: SERVICE,
      service: sink.source ?? SERVICE,
      hostname: HOST,
      ddtags: Object.entries(plainTags(record))
        .map(([key, value]) => `${key}:${value}`)
        .join(','),
      message: summary(record),
    }),
  frame: (items) => `[${items.join(',')}]`,
  overhead: (count) => count + 2,
  checkSuccess: () => ({ ok: true }),
};

const sumo: VendorFormat = {
  maxEvents: 10_000,
  maxBytes: 1024 * 1024,
  gzip: true,
  contentType: 'text/plain',
  endpoint: (sink) => sink.url,
  headers: (sink) => ({ 'x-sumo-category': sink.source ?? 'gatehouse/audit', 'x-sumo-name': SERVICE, 'x-sumo-host': HOST }),
  encode: (record) => JSON.stringify(record.doc),
  frame: ndjson,
  overhead: (count) => count,
  checkSuccess: () => ({ ok: true }),
};

const webhook: VendorFormat = {
  maxEvents: 1_000,
  maxBytes: 1024 * 1024,
  gzip: false,
  contentType: 'application/x-ndjson',
  endpoint: (sink) => sink.url,
  headers: (sink) => secretHeader(sink, 'authorization', (secret) => `Bearer ${secret}`),
  encode: (record) => JSON.stringify(record.doc),
  frame: ndjson,
  overhead: (count) => count,
  checkSuccess: () => ({ ok: true }),
};

// ---------------------------------------------------------------------------------------------
// OTLP/HTTP JSON logs: one LogRecord per record, gen_ai.* as attributes, the trace id as the
// record's traceId so the log lines up with the gateway's spans.

type AnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };

function anyValue(value: unknown): AnyValue | undefined {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { stringValue: JSON.stringify(value) };
  return undefined;
}

const SEVERITY: Record<string, [number, string]> = { success: [9, 'INFO'], unknown: [9, 'INFO'], denied: [13, 'WARN'], failure: [17, 'ERROR'] };

function logRecord(record: ForwardRecord): Record<string, unknown> {
  const get = <T>(...path: string[]) => docField<T>(record, ...path);
  const attributes: [string, unknown][] = [
    ['event.id', record.event_id],
    ['event.name', `gatehouse.${record.event_type}`],
    ['gatehouse.event_type', record.event_type],
    ['gatehouse.action', get('action')],
    ['gatehouse.outcome', get('outcome')],
    ['gatehouse.tenant_id', get('tenant_id')],
    ['gatehouse.seq', record.kind === 'audit_event' ? record.position : undefined],
    ['user.id', get('actor', 'user_id')],
    ['user.email', get('actor', 'email')],
    ['gen_ai.operation.name', get('gen_ai', 'operation')],
    ['gen_ai.provider.name', get('gen_ai', 'provider')],
    ['gen_ai.request.model', get('gen_ai', 'request_model')],
    ['gen_ai.response.model', get('gen_ai', 'response_model')],
    ['gen_ai.usage.input_tokens', get('gen_ai', 'input_tokens')],
    ['gen_ai.usage.output_tokens', get('gen_ai', 'output_tokens')],
    ['gen_ai.tool.name', get('gen_ai', 'tool_name') ?? get('mcp', 'tool')],
    ['mcp.method.name', get('mcp', 'method')],
    ['gatehouse.policy.decision', get('policy', 'decision')],
    ['gatehouse.policy.rule', get('policy', 'rule')],
  ];
  const [severityNumber, severityText] = SEVERITY[get<string>('outcome') ?? 'unknown'] ?? [9, 'INFO'];
  const nanos = `${BigInt(new Date(record.occurred_at).getTime()) * 1_000_000n}`;
  const traceId = get<string>('trace_id');
  const spanId = get<string>('span_id');
  return {
    timeUnixNano: nanos,
    observedTimeUnixNano: nanos,
    severityNumber,
    severityText,
    eventName: `gatehouse.${record.event_type}`,
    body: { stringValue: JSON.stringify(record.doc) },
    attributes: attributes.flatMap(([key, value]) => {
      const encoded = anyValue(value);
      return encoded ? [{ key, value: encoded }] : [];
    }),
    ...(traceId ? { traceId } : {}),
    ...(spanId ? { spanId } : {}),
  };
}

const otlpLogs: VendorFormat = {
  maxEvents: 1_000,
  maxBytes: 4 * 1024 * 1024,
  gzip: true,
  contentType: 'application/json',
  endpoint: (sink) => withPath(sink.url, '/v1/logs', /\/v1\/logs$/),
  headers: (sink) => secretHeader(sink, 'authorization', (secret) => (/^(Basic|Bearer) /.test(secret) ? secret : `Bearer ${secret}`)),
  encode: (record) => JSON.stringify(logRecord(record)),
  frame: (items, sink) =>
    `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":${JSON.stringify(sink.source ?? SERVICE)}}},{"key":"host.name","value":{"stringValue":${JSON.stringify(HOST)}}}]},"scopeLogs":[{"scope":{"name":"gatehouse.audit"},"logRecords":[${items.join(',')}]}]}]}`,
  overhead: (count) => 400 + count,
  checkSuccess(body) {
    // ExportLogsServiceResponse: a partialSuccess with rejected records is still a refusal of those.
    try {
      const rejected = Number((JSON.parse(body) as { partialSuccess?: { rejectedLogRecords?: string | number; errorMessage?: string } }).partialSuccess?.rejectedLogRecords ?? 0);
      if (rejected > 0) return { ok: false, message: `collector rejected ${rejected} log records`, accepted: 0 };
    } catch {
      // An empty or non-JSON 2xx body is a full success.
    }
    return { ok: true };
  },
};

export const VENDORS: Record<SiemSinkType, VendorFormat> = {
  splunk_hec: splunk,
  elastic,
  datadog,
  sumo,
  webhook,
  otlp_logs: otlpLogs,
};
