// Test support for the request pipeline (imported by tests only): the gateway served the way the
// production Node server serves it (the data-plane table through node-adapter), a gatehouse.yaml
// in a temporary directory the tests rewrite and reload, users and their tokens, and readers
// for the audit events a call leaves.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { closeAuditWriter, loadDocument, type AuditEvent } from '@/lib/audit';
import { closeConfigStore, configStore } from '@/lib/config';
import { closeDatabase, pool } from '@/lib/db/client';
import { closeGatewayLimits } from '@/lib/gateway/limits';
import { deleteRedisKeys } from '@/lib/gateway/limits/testing/fixtures';
import { matchDataPlane, pathOf, serveDataPlane } from '@/lib/http/data-plane';
import { serveWithWebHandler, type WebHandler } from '@/lib/http/node-adapter';
import type { UserIdentity } from '@/lib/oauth/identity';
import { mintAccessToken } from '@/lib/oauth/mint';
import { configureTestEnvironment, servePublicly } from '@/lib/oauth/test-harness';
import { listenOnLoopback } from '@/lib/platform/net';

export interface GatewayHarness {
  url: string;
  /** Rewrites gatehouse.yaml and waits until the gateway runs on it. */
  setConfig(yaml: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the gateway on 127.0.0.1 with `yaml` as its configuration. `handler`, when given, answers
 * every request instead of the production data-plane table, for tests of one part of the gateway;
 * the configuration, Redis counters and teardown are the same either way.
 */
export async function startGateway(yaml: string, name: string, handler?: WebHandler): Promise<GatewayHarness> {
  configureTestEnvironment();
  // Counters of this file only (the run's prefix is shared with other files), removed at the end.
  process.env.GATEHOUSE_REDIS_PREFIX = `${process.env.GATEHOUSE_REDIS_PREFIX ?? 'gatehouse-test'}-${name}-${randomBytes(3).toString('hex')}`;
  const directory = mkdtempSync(path.join(tmpdir(), `gatehouse-${name}-`));
  const file = path.join(directory, 'gatehouse.yaml');
  writeFileSync(file, yaml);
  process.env.GATEHOUSE_CONFIG = file;

  const server: Server = createServer((req, res) => {
    if (handler) {
      void serveWithWebHandler(req, res, handler);
      return;
    }
    const route = matchDataPlane(pathOf(req.url ?? '/'));
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    void serveDataPlane(req, res, route);
  });
  const url = servePublicly(await listenOnLoopback(server));

  return {
    url,
    async setConfig(next) {
      writeFileSync(file, next);
      await configStore().reload();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeGatewayLimits();
      if (process.env.REDIS_URL) await deleteRedisKeys(process.env.REDIS_URL, process.env.GATEHOUSE_REDIS_PREFIX!);
      await closeConfigStore();
      await closeAuditWriter();
      await closeDatabase();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** A gateway access token for the user, minted as `gatehouse token mint` does. */
export async function tokenFor(gateway: GatewayHarness, user: UserIdentity, audience?: string): Promise<string> {
  return (await mintAccessToken({ email: user.email, issuer: gateway.url, ...(audience ? { audience } : {}) })).accessToken;
}

/** The events of one trace, in chain order. */
export async function eventsOf(traceId: string): Promise<AuditEvent[]> {
  const { rows } = await pool().query<{ event: AuditEvent }>('SELECT event FROM audit_events WHERE trace_id = $1 ORDER BY seq', [traceId]);
  return rows.map((row) => row.event);
}

/**
 * Waits for the trace to have an event of each given type (response events are written after
 * the answer); gives up after a few seconds with what it found.
 */
export async function waitForEvents(traceId: string, types: readonly string[]): Promise<AuditEvent[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const events = await eventsOf(traceId);
    if (types.every((type) => events.some((event) => event.event_type === type)) || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Whether the trace's request event is committed, as seen from another connection. */
export async function requestEventCommitted(traceId: string): Promise<boolean> {
  const { rows } = await pool().query("SELECT 1 FROM audit_events WHERE trace_id = $1 AND event_type = 'inference.request'", [traceId]);
  return rows.length > 0;
}

/** A random trace id, so a test can find its own events. */
export function newTestTraceId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The document stored for a content ref as JSON text (a prompt manifest reassembled), as the
 * request explorer shows it. Content is per tenant; these tests' refs name unique content, so
 * the tenant is looked up by hash.
 */
export async function storedContent(sha256: string): Promise<string | null> {
  const { rows } = await pool().query<{ tenant_id: string }>('SELECT tenant_id::text AS tenant_id FROM audit_content WHERE sha256 = $1', [Buffer.from(sha256, 'hex')]);
  const tenantId = rows[0]?.tenant_id;
  if (!tenantId) return null;
  const document = await loadDocument(tenantId, sha256);
  return typeof document === 'string' || document === null ? document : JSON.stringify(document);
}
