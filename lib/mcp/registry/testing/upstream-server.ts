// Test support (imported by tests only): a real MCP server built with @modelcontextprotocol/sdk on
// 127.0.0.1, serving Streamable HTTP at /mcp and the older SSE transport at /sse (+ /messages).
// Its tool list can be changed while it runs (tool drift), and it remembers the headers each
// request carried (to see what credentials an upstream receives).
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export interface FakeTool {
  name: string;
  description: string;
  /** Argument names, each a string. */
  args?: string[];
  annotations?: ToolAnnotations;
}

export interface FakeUpstream {
  /** http://127.0.0.1:PORT */
  origin: string;
  /** The Streamable HTTP endpoint. */
  mcpUrl: string;
  /** The SSE endpoint. */
  sseUrl: string;
  /** Replaces the tools served from the next session on. */
  setTools(tools: FakeTool[]): void;
  /** Headers of every request received, oldest first. */
  requests: { path: string; headers: IncomingHttpHeaders }[];
  /** When set, requests without this exact Authorization value get 401. */
  requireAuthorization: string | null;
  close(): Promise<void>;
}

export const DEFAULT_TOOLS: FakeTool[] = [
  { name: 'search_docs', description: 'Search the documentation', args: ['query'], annotations: { readOnlyHint: true } },
  { name: 'delete_doc', description: 'Delete a document', args: ['id'], annotations: { destructiveHint: true } },
];

function mcpServerFor(tools: readonly FakeTool[]): McpServer {
  const server = new McpServer({ name: 'fake-upstream', version: '1.0.0' });
  for (const tool of tools) {
    const shape = Object.fromEntries((tool.args ?? []).map((arg) => [arg, z.string()]));
    server.registerTool(tool.name, { description: tool.description, inputSchema: shape, ...(tool.annotations ? { annotations: tool.annotations } : {}) }, async (args) => ({
      content: [{ type: 'text', text: `${tool.name} ${JSON.stringify(args)}` }],
    }));
  }
  return server;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

/** Starts the server on an ephemeral loopback port. */
export async function startFakeUpstream(initialTools: FakeTool[] = DEFAULT_TOOLS): Promise<FakeUpstream> {
  let tools = initialTools;
  const sse = new Map<string, SSEServerTransport>();
  const state: Pick<FakeUpstream, 'requests' | 'requireAuthorization'> = { requests: [], requireAuthorization: null };
  const http: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    state.requests.push({ path: url.pathname, headers: request.headers });
    if (state.requireAuthorization !== null && request.headers.authorization !== state.requireAuthorization) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    void (async () => {
      if (url.pathname === '/mcp') {
        // Stateless: a server and transport per request, built from the tools of the moment.
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        const server = mcpServerFor(tools);
        response.on('close', () => {
          void transport.close();
          void server.close();
        });
        await server.connect(transport);
        await transport.handleRequest(request, response, request.method === 'POST' ? await readJson(request) : undefined);
      } else if (url.pathname === '/sse' && request.method === 'GET') {
        const transport = new SSEServerTransport('/messages', response);
        sse.set(transport.sessionId, transport);
        response.on('close', () => sse.delete(transport.sessionId));
        await mcpServerFor(tools).connect(transport);
      } else if (url.pathname === '/messages' && request.method === 'POST') {
        const transport = sse.get(url.searchParams.get('sessionId') ?? '');
        if (!transport) response.writeHead(404).end();
        else await transport.handlePostMessage(request, response, await readJson(request));
      } else response.writeHead(404).end();
    })().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const upstream: FakeUpstream = {
    origin,
    mcpUrl: `${origin}/mcp`,
    sseUrl: `${origin}/sse`,
    setTools(next) {
      tools = next;
    },
    get requests() {
      return state.requests;
    },
    get requireAuthorization() {
      return state.requireAuthorization;
    },
    set requireAuthorization(value) {
      state.requireAuthorization = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
  return upstream;
}
