import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { pagePerTest, signInDeviceAs, signInWithPassword } from './browser';

const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

const browsing = pagePerTest(baseUrl);
const SHOTS = process.env.GATEHOUSE_E2E_SCREENSHOTS ?? path.join(tmpdir(), 'gatehouse-e2e-screenshots');

function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

async function atBothWidths(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  for (const width of [1440, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    expect({ width, overflow: await horizontalOverflow(page) }).toEqual({ width, overflow: 0 });
    await page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1440, height: 900 });
}

describe('SIEM forwarding page', () => {
  it('adds a sink with a sealed token, shows its lag and filter, replays it and removes it', async () => {
    const { page } = browsing;
    await signInWithPassword(page, adminEmail, adminPassword);
    await page.goto('/siem');
    await page.getByRole('heading', { name: 'SIEM forwarding' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'SIEM' }).isVisible()).toBe(true);

    const form = page.getByRole('form', { name: 'Add a sink' });
    await form.getByLabel('Name', { exact: true }).fill('e2e-webhook');
    await form.getByLabel('Type', { exact: true }).selectOption('webhook');
    await form.getByLabel('URL', { exact: true }).fill('http://127.0.0.1:9/hooks/gatehouse');
    await form.getByLabel('Token', { exact: true }).fill('e2e-secret-token-value');
    await form.getByLabel('Event types', { exact: true }).fill('policy.decision, auth.sign_in');
    await form.getByLabel('Redact fields', { exact: true }).fill('actor.email');
    await form.getByRole('button', { name: 'Add sink' }).click();
    expect(await form.getByRole('status').textContent()).toContain('Sink e2e-webhook added');

    const row = page.getByRole('row').filter({ hasText: 'e2e-webhook' });
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('NDJSON webhook');
    expect(text).toContain('http://127.0.0.1:9');
    expect(text).toContain('types: policy.decision, auth.sign_in');
    expect(text).toContain('redacts actor.email');
    // No worker runs here: the sink trails by the event that recorded its own creation.
    expect(text).toMatch(/1 events?\s*oldest \d{4}-\d{2}-\d{2}/);
    expect(text).toContain('1 event');
    // The token is sealed in the database and never shown again; the URL's path neither.
    expect(await page.content()).not.toContain('e2e-secret-token-value');
    expect(await page.content()).not.toContain('/hooks/gatehouse');

    // The sink started at the head of the trail; a replay queues the last day's events for it.
    const replay = row.getByRole('form', { name: 'Replay e2e-webhook' });
    await replay.getByRole('button', { name: 'Replay' }).click();
    expect(await replay.getByRole('status').textContent()).toMatch(/^\d+ events queued to be sent again\.$/);
    await atBothWidths(page, 'siem');

    const remove = page.getByRole('row').filter({ hasText: 'e2e-webhook' }).getByRole('form', { name: 'Remove e2e-webhook' });
    await remove.getByRole('button', { name: 'Remove' }).click();
    await remove.getByRole('button', { name: 'Yes, remove' }).click();
    await page.getByRole('row').filter({ hasText: 'e2e-webhook' }).waitFor({ state: 'detached' });

    // Both changes are in the audit trail.
    await page.goto('/audit?type=admin.change');
    await page.getByRole('cell', { name: 'siem.sink.create' }).first().waitFor();
    expect(await page.getByRole('cell', { name: 'siem.replay' }).count()).toBeGreaterThan(0);
  });

  it('shows what Claude Code reported over OTLP beside the gateway figures', async () => {
    const { page } = browsing;
    await signInWithPassword(page, adminEmail, adminPassword);
    // Claude Code signed in to the gateway exports its metrics with the gateway token.
    const { accessToken } = await signInDeviceAs(page, baseUrl);
    const now = `${BigInt(Date.now()) * 1_000_000n}`;
    const point = (attributes: Record<string, string>, value: number) => ({
      attributes: Object.entries(attributes).map(([key, text]) => ({ key, value: { stringValue: text } })),
      startTimeUnixNano: now,
      timeUnixNano: now,
      asDouble: value,
    });
    const metrics = (name: string, points: ReturnType<typeof point>[]) => ({ name, sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: points } });
    const exported = await fetch(`${baseUrl}/v1/metrics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceMetrics: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }] },
            scopeMetrics: [
              {
                metrics: [
                  metrics('claude_code.token.usage', [point({ type: 'input', model: 'claude-sonnet-4-5' }, 4200), point({ type: 'output', model: 'claude-sonnet-4-5' }, 900)]),
                  metrics('claude_code.cost.usage', [point({ model: 'claude-sonnet-4-5' }, 0.0261)]),
                  metrics('claude_code.active_time.total', [point({ type: 'user' }, 1800)]),
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(exported.status).toBe(200);

    const row = page.getByRole('row').filter({ hasText: adminEmail });
    for (let tries = 0; tries < 20 && (await row.count()) === 0; tries++) {
      await page.goto('/claude-code?days=30');
      await page.getByRole('heading', { name: 'Claude Code telemetry' }).waitFor();
    }
    const cells = (await row.getByRole('cell').allTextContents()).map((text) => text.trim());
    expect(cells[2]).toMatch(/^4,200\s*gateway \d/);
    expect(cells[3]).toMatch(/^900\s*gateway \d/);
    expect(cells[5]).toMatch(/^\$0\.0261\s*gateway \$/);
    expect(cells[6]).toBe('30 min');
    expect(await page.getByRole('link', { name: '30 days' }).getAttribute('aria-current')).toBe('page');
    await atBothWidths(page, 'claude-code');
  });
});
