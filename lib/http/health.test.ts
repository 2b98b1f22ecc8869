import { afterAll, describe, expect, it } from 'vitest';
import packageJson from '@/package.json';
import { closeDatabase } from '@/lib/db/client';
import { handleHealthz, handleReadyz, type ReadinessBody } from './health';

afterAll(async () => {
  await closeDatabase();
});

describe('health endpoints', () => {
  it('/healthz reports the process alive with its version and uptime, and nothing about what users or admins do', async () => {
    const response = await handleHealthz(new Request('http://localhost/healthz'));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as { status: string; uptime_s: number; version: string };
    expect(body.status).toBe('ok');
    expect(body.version).toBe(packageJson.version);
    expect(Number.isInteger(body.uptime_s) && body.uptime_s >= 0).toBe(true);
    // Unauthenticated: counters that move when admins disable users or users sign out are not shown.
    expect(Object.keys(body).sort()).toEqual(['status', 'uptime_s', 'version']);
  });

  it('/readyz checks the real database, its migrations and the queue backend', async () => {
    const response = await handleReadyz(new Request('http://localhost/readyz'));
    const body = (await response.json()) as ReadinessBody;
    expect(body.checks.database).toMatchObject({ ok: true });
    expect(body.checks.migrations).toEqual({ ok: true, pending: [] });
    expect(typeof body.checks.queue.ok).toBe('boolean');
    // Ready exactly when every check passed; the status code follows.
    const ready = body.checks.database.ok && body.checks.migrations.ok && body.checks.queue.ok;
    expect(body.status).toBe(ready ? 'ready' : 'not_ready');
    expect(response.status).toBe(ready ? 200 : 503);
  });

  it('/readyz answers 503 with the reason when the database cannot be reached', async () => {
    const realUrl = process.env.DATABASE_URL;
    await closeDatabase();
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    process.env.DATABASE_URL = 'postgres://gatehouse@127.0.0.1:1/gatehouse';
    try {
      const response = await handleReadyz(new Request('http://localhost/readyz'));
      expect(response.status).toBe(503);
      const body = (await response.json()) as ReadinessBody;
      expect(body.status).toBe('not_ready');
      expect(body.checks.database.ok).toBe(false);
      expect(body.checks.database.error).toMatch(/ECONNREFUSED|connect/i);
      expect(body.checks.migrations.ok).toBe(false);
    } finally {
      await closeDatabase();
      process.env.DATABASE_URL = realUrl;
    }
  });

  it('refuses methods other than GET and HEAD', async () => {
    for (const handler of [handleHealthz, handleReadyz]) {
      const response = await handler(new Request('http://localhost/probe', { method: 'POST' }));
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
  });
});
