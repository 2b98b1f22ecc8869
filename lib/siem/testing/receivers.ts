// Fake SIEM receivers for tests (node:http on 127.0.0.1), each speaking one vendor's documented
// intake contract: they check the path, the credential, the content type, the encoding and the
// framing, record every event_id they store, and can be told to fail the next requests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { SiemSinkType } from '@/lib/config';
import { isRecord } from '@/lib/platform/json';
import { listenOnLoopback } from '@/lib/platform/net';

export type Fault =
  | { kind: 'status'; status: 429 | 503 | 500 | 400 | 401; retryAfter?: string }
  /** Reads the request and never answers (the sender's timeout must fire). */
  | { kind: 'hang' }
  /** Elastic: these item positions get the status (429 retryable, 400 refused); the rest are stored. */
  | { kind: 'partial'; failItems: number[]; itemStatus?: number }
  /** Splunk: events from this index on are refused (`invalid-event-number`). */
  | { kind: 'hec_invalid'; from: number };

export interface ReceivedDoc {
  event_id: string;
  event_type: string;
  doc: Record<string, unknown>;
}

export interface FakeReceiver {
  type: SiemSinkType;
  /** What to put in the sink's `url`. */
  url: string;
  token: string;
  /** Deliveries per event_id (stored ones only; refused items are not counted). */
  stored: Map<string, number>;
  docs: ReceivedDoc[];
  requests: number;
  /** Protocol violations the sender made; a passing test expects none. */
  problems: string[];
  /** Faults for the next requests, in order. */
  faults: Fault[];
  /** Called when a request arrives, before it is answered. */
  onRequest?: () => void;
  close(): Promise<void>;
}

type Parsed = ReceivedDoc[];

interface Contract {
  path: (receiver: FakeReceiver) => string;
  checkAuth: (request: IncomingMessage, receiver: FakeReceiver) => boolean;
  contentType: string;
  gzip: boolean | 'either';
  parse: (body: string) => Parsed;
  maxItems: number;
  maxBytes: number;
  /** Answers a request whose records were all parsed; `stored` says which were kept. */
  answer: (response: ServerResponse, docs: Parsed, receiver: FakeReceiver, fault: Fault | undefined) => void;
}

function asDoc(value: unknown, where: string): Record<string, unknown> {
  if (!isRecord(value)) throw new Error(`${where}: not a JSON object`);
  return value as Record<string, unknown>;
}

function canonicalDoc(doc: Record<string, unknown>, where: string): ReceivedDoc {
  if (typeof doc.event_id !== 'string' || typeof doc.event_type !== 'string') throw new Error(`${where}: no event_id / event_type`);
  return { event_id: doc.event_id, event_type: doc.event_type, doc };
}

/** Splunk HEC batching: JSON objects one after another, separated by whitespace only. */
export function parseStackedJson(body: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let index = 0; index < body.length; index++) {
    const char = body[index]!;
    if (inString) {
      if (char === '\\') index++;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === '{') {
      if (depth === 0) start = index;
      depth++;
    } else if (char === '}') {
      depth--;
      if (depth === 0) values.push(JSON.parse(body.slice(start, index + 1)));
    } else if (depth === 0 && !/\s/.test(char)) throw new Error(`unexpected ${JSON.stringify(char)} between HEC events`);
  }
  if (depth !== 0) throw new Error('truncated HEC event');
  return values;
}

function ndjsonLines(body: string): unknown[] {
  if (!body.endsWith('\n')) throw new Error('NDJSON body must end with a newline');
  return body
    .slice(0, -1)
    .split('\n')
    .map((line, index) => {
      if (line.trim() === '') throw new Error(`empty line ${index + 1}`);
      return JSON.parse(line);
    });
}

const bearer = (request: IncomingMessage, receiver: FakeReceiver) => request.headers.authorization === `Bearer ${receiver.token}`;

const plainOk = (status: number) => (response: ServerResponse, docs: Parsed, receiver: FakeReceiver) => {
  for (const doc of docs) store(receiver, doc);
  response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
};

function store(receiver: FakeReceiver, doc: ReceivedDoc): void {
  receiver.stored.set(doc.event_id, (receiver.stored.get(doc.event_id) ?? 0) + 1);
  receiver.docs.push(doc);
}

const CONTRACTS: Record<SiemSinkType, Contract> = {
  splunk_hec: {
    path: () => '/services/collector/event',
    checkAuth: (request, receiver) => request.headers.authorization === `Splunk ${receiver.token}`,
    contentType: 'application/json',
    gzip: true,
    maxItems: 1_000,
    maxBytes: 1024 * 1024,
    parse: (body) =>
      parseStackedJson(body).map((value, index) => {
        const envelope = asDoc(value, `HEC event ${index}`);
        if (typeof envelope.time !== 'number' || typeof envelope.sourcetype !== 'string') throw new Error(`HEC event ${index}: time (epoch seconds) and sourcetype are required`);
        return canonicalDoc(asDoc(envelope.event, `HEC event ${index}.event`), `HEC event ${index}`);
      }),
    answer(response, docs, receiver, fault) {
      if (fault?.kind === 'hec_invalid') {
        docs.slice(0, fault.from).forEach((doc) => store(receiver, doc));
        response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ text: 'Invalid data format', code: 6, 'invalid-event-number': fault.from }));
        return;
      }
      docs.forEach((doc) => store(receiver, doc));
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: 'Success', code: 0 }));
    },
  },
  elastic: {
    path: () => '/logs-gatehouse.audit-default/_bulk',
    checkAuth: (request, receiver) => request.headers.authorization === `ApiKey ${receiver.token}`,
    contentType: 'application/x-ndjson',
    gzip: true,
    maxItems: 1_000,
    maxBytes: 5 * 1024 * 1024,
    parse(body) {
      const lines = ndjsonLines(body);
      if (lines.length % 2 !== 0) throw new Error('_bulk body must be action/source line pairs');
      const docs: Parsed = [];
      for (let index = 0; index < lines.length; index += 2) {
        const action = asDoc(lines[index], `action ${index}`);
        const create = asDoc(action.create, `action ${index}: only create is allowed (data streams)`);
        const source = asDoc(lines[index + 1], `source ${index + 1}`);
        const event = asDoc(source.event, 'ECS event');
        if (typeof source['@timestamp'] !== 'string' || event.id !== create._id || event.kind !== 'event') throw new Error(`source ${index + 1}: @timestamp, event.kind and event.id = _id are required`);
        docs.push(canonicalDoc(asDoc(source.gatehouse, 'gatehouse'), `source ${index + 1}`));
      }
      return docs;
    },
    answer(response, docs, receiver, fault) {
      const failing = fault?.kind === 'partial' ? new Set(fault.failItems) : new Set<number>();
      const items = docs.map((doc, index) => {
        if (failing.has(index)) {
          const status = fault?.kind === 'partial' ? (fault.itemStatus ?? 429) : 429;
          return { create: { _id: doc.event_id, status, error: { type: status === 429 ? 'es_rejected_execution_exception' : 'mapper_parsing_exception', reason: 'injected' } } };
        }
        if (receiver.stored.has(doc.event_id)) {
          receiver.stored.set(doc.event_id, receiver.stored.get(doc.event_id)! + 1);
          return { create: { _id: doc.event_id, status: 409, error: { type: 'version_conflict_engine_exception', reason: 'document already exists' } } };
        }
        store(receiver, doc);
        return { create: { _id: doc.event_id, status: 201, result: 'created' } };
      });
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ took: 1, errors: items.some((item) => item.create.status >= 300), items }));
    },
  },
  datadog: {
    path: () => '/api/v2/logs',
    checkAuth: (request, receiver) => request.headers['dd-api-key'] === receiver.token,
    contentType: 'application/json',
    gzip: true,
    maxItems: 1_000,
    maxBytes: 5 * 1024 * 1024,
    parse(body) {
      const parsed: unknown = JSON.parse(body);
      if (!Array.isArray(parsed)) throw new Error('body must be a JSON array of logs');
      return parsed.map((value, index) => {
        const log = asDoc(value, `log ${index}`);
        if (log.ddsource !== 'gatehouse' || typeof log.message !== 'string' || typeof log.ddtags !== 'string') throw new Error(`log ${index}: ddsource, ddtags and message are required`);
        return canonicalDoc(log, `log ${index}`);
      });
    },
    answer: plainOk(202),
  },
  sumo: {
    path: () => '/receiver/v1/http/ZaVnC4dhaV0fakecollectorcode',
    checkAuth: (request) => typeof request.headers['x-sumo-category'] === 'string' && request.headers.authorization === undefined,
    contentType: 'text/plain',
    gzip: true,
    maxItems: 100_000,
    maxBytes: 1024 * 1024,
    parse: (body) => ndjsonLines(body).map((value, index) => canonicalDoc(asDoc(value, `line ${index}`), `line ${index}`)),
    answer: plainOk(200),
  },
  webhook: {
    path: () => '/hooks/gatehouse',
    checkAuth: bearer,
    contentType: 'application/x-ndjson',
    gzip: false,
    maxItems: 1_000,
    maxBytes: 1024 * 1024,
    parse: (body) => ndjsonLines(body).map((value, index) => canonicalDoc(asDoc(value, `line ${index}`), `line ${index}`)),
    answer: plainOk(200),
  },
  otlp_logs: {
    path: () => '/v1/logs',
    checkAuth: bearer,
    contentType: 'application/json',
    gzip: true,
    maxItems: 100_000,
    maxBytes: 4 * 1024 * 1024,
    parse(body) {
      const request = asDoc(JSON.parse(body), 'ExportLogsServiceRequest');
      const docs: Parsed = [];
      for (const resourceLogs of (request.resourceLogs as Record<string, unknown>[] | undefined) ?? []) {
        for (const scopeLogs of (resourceLogs.scopeLogs as Record<string, unknown>[] | undefined) ?? []) {
          for (const record of (scopeLogs.logRecords as Record<string, unknown>[] | undefined) ?? []) {
            if (typeof record.timeUnixNano !== 'string' || !/^\d+$/.test(record.timeUnixNano)) throw new Error('timeUnixNano must be a decimal string');
            const attributes = (record.attributes as { key: string; value: { stringValue?: string } }[] | undefined) ?? [];
            const eventId = attributes.find((attribute) => attribute.key === 'event.id')?.value.stringValue;
            const body = (record.body as { stringValue?: string } | undefined)?.stringValue;
            if (!eventId || !body) throw new Error('log record without event.id attribute or body');
            const doc = canonicalDoc(asDoc(JSON.parse(body), 'body'), 'log record');
            if (doc.event_id !== eventId) throw new Error('event.id attribute differs from the body');
            docs.push(doc);
          }
        }
      }
      return docs;
    },
    answer: plainOk(200),
  },
};

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts a fake receiver of `type` on 127.0.0.1. */
export async function startFakeReceiver(type: SiemSinkType, token = `token-${type}`): Promise<FakeReceiver> {
  const contract = CONTRACTS[type];
  const hanging = new Set<ServerResponse>();
  const receiver: FakeReceiver = {
    type,
    url: '',
    token,
    stored: new Map(),
    docs: [],
    requests: 0,
    problems: [],
    faults: [],
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const refuse = (response: ServerResponse, status: number, problem: string) => {
    receiver.problems.push(problem);
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: problem }));
  };
  const server: Server = createServer((request, response) => {
    void (async () => {
      receiver.requests += 1;
      const raw = await readBody(request);
      receiver.onRequest?.();
      const path = new URL(request.url ?? '/', 'http://receiver').pathname;
      if (request.method !== 'POST' || path !== contract.path(receiver)) return refuse(response, 404, `${request.method} ${path}: wrong method or path`);
      if (!contract.checkAuth(request, receiver)) return refuse(response, 401, `${path}: missing or wrong credential`);
      const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (contentType !== contract.contentType) return refuse(response, 415, `content-type ${contentType}, expected ${contract.contentType}`);
      const encoding = request.headers['content-encoding'];
      if (contract.gzip === true && encoding !== 'gzip') return refuse(response, 400, 'expected a gzip body');
      if (contract.gzip === false && encoding !== undefined) return refuse(response, 415, `unexpected content-encoding ${encoding}`);
      let body: string;
      try {
        body = (encoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      } catch {
        return refuse(response, 400, 'body is not valid gzip');
      }
      if (Buffer.byteLength(body) > contract.maxBytes) return refuse(response, 413, `body of ${Buffer.byteLength(body)} bytes is over ${contract.maxBytes}`);
      let docs: Parsed;
      try {
        docs = contract.parse(body);
      } catch (error) {
        return refuse(response, 400, `framing: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (docs.length > contract.maxItems) return refuse(response, 413, `${docs.length} items, over ${contract.maxItems}`);
      const fault = receiver.faults.shift();
      if (fault?.kind === 'hang') {
        hanging.add(response);
        return;
      }
      if (fault?.kind === 'status') {
        response.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) }).end('{"error":"injected"}');
        return;
      }
      contract.answer(response, docs, receiver, fault);
    })().catch((error: unknown) => {
      receiver.problems.push(`receiver crashed: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  const base = await listenOnLoopback(server);
  receiver.url = type === 'sumo' ? `${base}${contract.path(receiver)}` : type === 'webhook' ? `${base}/hooks/gatehouse` : base;
  return receiver;
}
