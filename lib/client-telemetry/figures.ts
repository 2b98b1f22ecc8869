import { createHash } from 'node:crypto';
import { fieldOf, objectOf, type OtlpNode } from './otlp-node';

/**
 * What Claude Code reports about its own use, read from its OTLP exports: token counts and cost
 * per model (metrics `claude_code.token.usage`, `claude_code.cost.usage`), active time
 * (`claude_code.active_time.total`), API requests (log event `api_request`) and tool permission
 * decisions (log event `tool_decision`). Everything else in an export is ignored.
 */
export interface ClientFigures {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  /** '' for figures without a model (active time, tool decisions). */
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  costMicrodollars: number;
  activeSeconds: number;
  apiRequests: number;
  toolAccepts: number;
  toolRejects: number;
}

/** A point of a cumulative series: only its increase since the last export counts. */
export interface CumulativePoint {
  seriesKey: string;
  value: number;
  /** Which figure the increase goes to. */
  apply: (figures: ClientFigures, increase: number) => void;
  day: string;
  model: string;
}

export interface ExtractedFigures {
  /** Delta points and log events, ready to add. */
  figures: ClientFigures[];
  cumulative: CumulativePoint[];
}

type Node = OtlpNode;

function listOf(node: Node | null | undefined, name: string): Node[] {
  const value = node ? fieldOf(node, name) : undefined;
  return Array.isArray(value) ? value.filter((item): item is Node => typeof item === 'object' && item !== null) : [];
}

function scalar(value: Node | null): string | number | boolean | undefined {
  if (!value) return undefined;
  for (const key of ['stringValue', 'intValue', 'doubleValue', 'boolValue']) {
    const inner = fieldOf(value, key);
    if (inner !== undefined && inner !== null) return inner as string | number | boolean;
  }
  return undefined;
}

function attributesOf(node: Node): Map<string, string | number | boolean> {
  const attributes = new Map<string, string | number | boolean>();
  for (const pair of listOf(node, 'attributes')) {
    const value = scalar(objectOf(pair, 'value'));
    if (typeof pair.key === 'string' && value !== undefined) attributes.set(pair.key, value);
  }
  return attributes;
}

function numberOf(value: unknown): number | undefined {
  const parsed = typeof value === 'string' ? Number(value) : value;
  return typeof parsed === 'number' && Number.isFinite(parsed) ? parsed : undefined;
}

/** The UTC day of an OTLP nanosecond timestamp (string or number), else today's. */
function dayOf(nanos: unknown, now: Date): string {
  const text = typeof nanos === 'string' || typeof nanos === 'number' ? String(nanos) : '';
  const millis = /^\d{13,}$/.test(text) ? Number(BigInt(text) / 1_000_000n) : Number.NaN;
  const date = Number.isFinite(millis) && millis > 0 ? new Date(millis) : now;
  return date.toISOString().slice(0, 10);
}

function emptyFigures(day: string, model: string): ClientFigures {
  return { day, model, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, costMicrodollars: 0, activeSeconds: 0, apiRequests: 0, toolAccepts: 0, toolRejects: 0 };
}

const TOKEN_FIELDS: Record<string, keyof ClientFigures> = {
  input: 'inputTokens',
  output: 'outputTokens',
  cacheRead: 'cacheReadTokens',
  cache_read: 'cacheReadTokens',
  cacheCreation: 'cacheCreationTokens',
  cache_creation: 'cacheCreationTokens',
};

function add(field: keyof ClientFigures): (figures: ClientFigures, amount: number) => void {
  return (figures, amount) => {
    (figures[field] as number) += amount;
  };
}

/** How a metric's point adds to the figures, or null for metrics that are not kept. */
function applierFor(name: string, attributes: Map<string, string | number | boolean>): { apply: (figures: ClientFigures, amount: number) => void; model: string } | null {
  const model = String(attributes.get('model') ?? '').slice(0, 200);
  if (name === 'claude_code.token.usage') {
    const field = TOKEN_FIELDS[String(attributes.get('type') ?? '')];
    return field ? { apply: add(field), model } : null;
  }
  if (name === 'claude_code.cost.usage') return { apply: (figures, usd) => void (figures.costMicrodollars += Math.round(usd * 1_000_000)), model };
  if (name === 'claude_code.active_time.total') return { apply: add('activeSeconds'), model: '' };
  return null;
}

const DELTA = new Set<unknown>([1, '1', 'AGGREGATION_TEMPORALITY_DELTA']);

function seriesKey(name: string, start: unknown, attributes: Map<string, string | number | boolean>, session: string): string {
  const sorted = [...attributes.entries()].sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify([name, String(start ?? ''), session, sorted])).digest('hex');
}

function eventNameOf(record: Node, attributes: Map<string, string | number | boolean>): string {
  const name = fieldOf(record, 'eventName');
  const raw = typeof name === 'string' && name ? name : String(attributes.get('event.name') ?? '');
  return raw.replace(/^claude_code\./, '');
}

/** The figures in one OTLP metrics or logs export (JSON, or protobuf decoded to the same shape). */
export function extractClientFigures(signal: 'metrics' | 'logs', exportRequest: Node, now = new Date()): ExtractedFigures {
  const byKey = new Map<string, ClientFigures>();
  const figuresFor = (day: string, model: string) => {
    const key = `${day}\u0000${model}`;
    let figures = byKey.get(key);
    if (!figures) byKey.set(key, (figures = emptyFigures(day, model)));
    return figures;
  };
  const cumulative: CumulativePoint[] = [];
  if (signal === 'metrics') {
    for (const resource of listOf(exportRequest, 'resourceMetrics')) {
      const session = String(attributesOf(objectOf(resource, 'resource') ?? {}).get('session.id') ?? '');
      for (const scope of listOf(resource, 'scopeMetrics')) {
        for (const metric of listOf(scope, 'metrics')) {
          const name = typeof metric.name === 'string' ? metric.name : '';
          const sum = objectOf(metric, 'sum');
          if (!sum) continue;
          const isDelta = DELTA.has(fieldOf(sum, 'aggregationTemporality'));
          for (const point of listOf(sum, 'dataPoints')) {
            const attributes = attributesOf(point);
            const applier = applierFor(name, attributes);
            const value = numberOf(fieldOf(point, 'asDouble')) ?? numberOf(fieldOf(point, 'asInt'));
            if (!applier || value === undefined || value < 0) continue;
            const day = dayOf(fieldOf(point, 'timeUnixNano'), now);
            if (isDelta) applier.apply(figuresFor(day, applier.model), value);
            else cumulative.push({ seriesKey: seriesKey(name, fieldOf(point, 'startTimeUnixNano'), attributes, session), value, apply: applier.apply, day, model: applier.model });
          }
        }
      }
    }
  } else {
    for (const resource of listOf(exportRequest, 'resourceLogs')) {
      for (const scope of listOf(resource, 'scopeLogs')) {
        for (const record of listOf(scope, 'logRecords')) {
          const attributes = attributesOf(record);
          const event = eventNameOf(record, attributes);
          const day = dayOf(fieldOf(record, 'timeUnixNano') ?? fieldOf(record, 'observedTimeUnixNano'), now);
          if (event === 'api_request') figuresFor(day, String(attributes.get('model') ?? '').slice(0, 200)).apiRequests += 1;
          else if (event === 'tool_decision') {
            const decision = String(attributes.get('decision') ?? '');
            if (decision === 'accept') figuresFor(day, '').toolAccepts += 1;
            else if (decision === 'reject') figuresFor(day, '').toolRejects += 1;
          }
        }
      }
    }
  }
  return { figures: [...byKey.values()], cumulative };
}

export { emptyFigures };
