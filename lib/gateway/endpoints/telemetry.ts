import { promisify } from 'node:util';
import type { DataPlaneRequest } from '@/lib/http/data-plane-request';
import { gunzip } from 'node:zlib';
import { countAuditEvent } from '@/lib/audit';
import { fieldOf, objectOf, recordClientTelemetry, type OtlpNode } from '@/lib/client-telemetry';
import { pool } from '@/lib/db/client';
import { runInBackground } from '@/lib/platform/background';
import type { GatewayRequestContext } from '@/lib/gateway/auth';
import { isRecord } from '@/lib/platform/json';
import { OTLP_SIGNALS, OTLP_STATUS, type OtlpSignal } from './otlp-schema';

/** Claude Code exports every few seconds; a batch this large is already far from normal. */
export const MAX_TELEMETRY_BYTES = 8 * 1024 * 1024;
// How many distinct metric / event / span names one export contributes to the summary.
const MAX_NAMES = 20;
/** One summary event per user per this long, however often their client exports (every few seconds). */
export const TELEMETRY_SUMMARY_WINDOW_MS = 5 * 60_000;

type Encoding = 'json' | 'protobuf';
type Node = OtlpNode;

export interface TelemetrySummary {
  resources: number;
  /** Metric data points, log records or spans. */
  items: number;
  /** Distinct metric names, log event names or span names (the first few). */
  names: string[];
  /** Attributes of the first resource worth recording (service.name, user.id, session.id…). */
  resource: Record<string, string>;
}

class TelemetryError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const gunzipAsync = promisify(gunzip);

function encodingOf(request: DataPlaneRequest): Encoding | null {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  return null;
}

async function readBody(request: DataPlaneRequest): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > MAX_TELEMETRY_BYTES) throw new TelemetryError(413, `telemetry batches are limited to ${MAX_TELEMETRY_BYTES} bytes`);
  const read = await request.readBody(MAX_TELEMETRY_BYTES);
  if (read === null) throw new TelemetryError(413, `telemetry batches are limited to ${MAX_TELEMETRY_BYTES} bytes`);
  const body = Buffer.from(read.buffer, read.byteOffset, read.byteLength);
  const contentEncoding = (request.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (contentEncoding === 'identity') return body;
  if (contentEncoding !== 'gzip') throw new TelemetryError(415, `content-encoding ${contentEncoding} is not supported (use gzip or none)`);
  try {
    return await gunzipAsync(body, { maxOutputLength: MAX_TELEMETRY_BYTES });
  } catch {
    throw new TelemetryError(400, 'the body is not valid gzip, or expands past the size limit');
  }
}

function decode(signal: OtlpSignal, encoding: Encoding, body: Uint8Array): Node {
  try {
    if (encoding === 'json') {
      const parsed: unknown = JSON.parse(Buffer.from(body).toString('utf8'));
      if (!isRecord(parsed)) throw new Error('not an object');
      return parsed;
    }
    const type = OTLP_SIGNALS[signal].request;
    return type.toObject(type.decode(body), { longs: String }) as Node;
  } catch {
    throw new TelemetryError(400, `the body is not an OTLP ${signal} export in ${encoding === 'json' ? 'JSON' : 'protobuf'}`);
  }
}

function listOf(node: Node, name: string): Node[] {
  const value = fieldOf(node, name);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'object' || item === null)) throw new TelemetryError(400, `${name} must be a list of objects`);
  return value as Node[];
}

/** String-valued attributes of a KeyValue list. */
function stringAttributes(node: Node | null, name = 'attributes'): Map<string, string> {
  const attributes = new Map<string, string>();
  if (!node) return attributes;
  for (const pair of listOf(node, name)) {
    const value = objectOf(pair, 'value');
    const text = value ? fieldOf(value, 'stringValue') : undefined;
    if (typeof pair.key === 'string' && typeof text === 'string') attributes.set(pair.key, text);
  }
  return attributes;
}

const RESOURCE_ATTRIBUTES = ['service.name', 'service.version', 'user.id', 'user.email', 'session.id', 'terminal.type'];
const POINT_KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'];

function itemCount(signal: OtlpSignal, item: Node): number {
  if (signal !== 'metrics') return 1;
  return POINT_KINDS.reduce((count, kind) => {
    const data = objectOf(item, kind);
    return count + (data ? listOf(data, 'dataPoints').length : 0);
  }, 0);
}

function itemName(signal: OtlpSignal, item: Node): string | undefined {
  if (signal === 'logs') {
    const eventName = fieldOf(item, 'eventName');
    return typeof eventName === 'string' && eventName ? eventName : stringAttributes(item).get('event.name');
  }
  return typeof item.name === 'string' ? item.name : undefined;
}

/** Counts and names of an export, without keeping any of its values. */
export function summariseExport(signal: OtlpSignal, exportRequest: Node): TelemetrySummary {
  const spec = OTLP_SIGNALS[signal];
  const resources = listOf(exportRequest, spec.resources);
  const names = new Set<string>();
  let items = 0;
  for (const resource of resources) {
    for (const scope of listOf(resource, spec.scopes)) {
      for (const item of listOf(scope, spec.items)) {
        items += itemCount(signal, item);
        const name = itemName(signal, item);
        if (name && names.size < MAX_NAMES) names.add(name.slice(0, 100));
      }
    }
  }
  const first = stringAttributes(resources[0] ? objectOf(resources[0], 'resource') : null);
  const resource = Object.fromEntries(RESOURCE_ATTRIBUTES.flatMap((key) => (first.has(key) ? [[key, first.get(key)!.slice(0, 200)]] : [])));
  return { resources: resources.length, items, names: [...names], resource };
}

function errorResponse(encoding: Encoding | null, status: number, message: string): Response {
  // OTLP/HTTP: a google.rpc.Status body in the request's encoding.
  if (encoding === 'protobuf') {
    const body = new Uint8Array(OTLP_STATUS.encode(OTLP_STATUS.fromObject({ code: 3, message })).finish());
    return new Response(body, { status, headers: { 'content-type': 'application/x-protobuf' } });
  }
  return Response.json({ code: 3, message }, { status });
}

/**
 * Counts one export into the user's summary: which user sent what, never the values. Claude Code
 * exports every few seconds, so one chained event per export would flood the audit trail; the
 * summary is written once per user and TELEMETRY_SUMMARY_WINDOW_MS, with the number of exports,
 * items and bytes added up and the signals, names and sessions tallied. `system.housekeeping` is
 * the closest type in the closed vocabulary: an inference or policy type would be counted as model
 * use or as a decision on the overview, and client telemetry is neither.
 */
function countExport(context: GatewayRequestContext, signal: OtlpSignal, encoding: Encoding, bytes: number, summary: TelemetrySummary): void {
  const { record, caller } = context;
  const { principal } = caller;
  const claimedUser = summary.resource['user.id'];
  const sessionId = summary.resource['session.id'];
  countAuditEvent({
    key: `telemetry.ingest\u0000${principal.tenantId}\u0000${principal.userId}`,
    windowMs: TELEMETRY_SUMMARY_WINDOW_MS,
    event: {
      tenant_id: principal.tenantId,
      event_type: 'system.housekeeping',
      action: 'telemetry.ingest',
      outcome: 'success',
      trace_id: caller.traceId,
      actor: { user_id: principal.userId, email: principal.email, department: principal.department ?? undefined, roles: principal.roles },
      client_id: principal.clientId,
      session_id: sessionId,
      origin: record.ip || record.userAgent ? { ip: record.ip, user_agent: record.userAgent } : undefined,
      attributes: {
        ...(summary.resource['service.name'] ? { 'service.name': summary.resource['service.name'] } : {}),
        ...(summary.resource['service.version'] ? { 'service.version': summary.resource['service.version'] } : {}),
      },
    },
    tally: {
      'telemetry.signals': signal,
      'telemetry.encodings': encoding,
      'telemetry.names': summary.names,
      ...(sessionId ? { 'telemetry.sessions': sessionId } : {}),
      // The client fills user.id from the token without verifying it; a different value is worth a look.
      ...(claimedUser !== undefined && claimedUser !== principal.userId ? { 'telemetry.claimed_user_ids': claimedUser } : {}),
    },
    sums: { 'telemetry.bytes': bytes, 'telemetry.resources': summary.resources, 'telemetry.items': summary.items },
  });
}

/**
 * POST /v1/metrics, /v1/logs, /v1/traces: OTLP/HTTP in JSON or protobuf, attributed to the
 * bearer's user. Nothing is forwarded; the export is counted into the user's summary event, Claude
 * Code's own figures (lib/client-telemetry) are stored per user and day, then 200 — a 404 would
 * make the client's exporter log an error on every flush.
 */
export async function handleTelemetry(request: DataPlaneRequest, context: GatewayRequestContext, signal: OtlpSignal): Promise<Response> {
  const encoding = encodingOf(request);
  if (!encoding) return errorResponse(null, 415, 'send OTLP as application/json or application/x-protobuf');
  try {
    const body = await readBody(request);
    const exportRequest = decode(signal, encoding, body);
    const summary = summariseExport(signal, exportRequest);
    countExport(context, signal, encoding, body.byteLength, summary);
    if (signal !== 'traces') {
      // Token counts, cost, active time and tool decisions, per user and day, beside the gateway's figures.
      const { tenantId, userId } = context.caller.principal;
      runInBackground('client telemetry', () => recordClientTelemetry(pool(), tenantId, userId, signal, exportRequest));
    }
  } catch (error) {
    if (error instanceof TelemetryError) return errorResponse(encoding, error.status, error.message);
    throw error;
  }
  // An empty Export*ServiceResponse: everything accepted.
  if (encoding === 'json') return Response.json({});
  return new Response(new Uint8Array(0), { status: 200, headers: { 'content-type': 'application/x-protobuf' } });
}
