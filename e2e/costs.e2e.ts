import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { runCostRollup } from '@/lib/costs/rollup';
import { closeDatabase } from '@/lib/db/client';
import { postgresSpendLedger } from '@/lib/gateway/limits';
import { primaryTenant } from '@/lib/users/tenant';
import { createUser } from '@/lib/users/users';
import { pagePerTest, signInWithPassword } from './browser';

const baseUrl = inject('e2eBaseUrl');
const browsing = pagePerTest(baseUrl);
// Set to a folder to keep screenshots of the finance views at desktop and phone widths.
const screenshots = process.env.GATEHOUSE_E2E_SCREENSHOTS;

const suffix = randomBytes(3).toString('hex');
const finance = { email: `fin.${suffix}@example.org`, password: `finance-${randomBytes(9).toString('base64url')}` };
const member = { email: `mem.${suffix}@example.org`, password: `member-${randomBytes(9).toString('base64url')}` };
const today = new Date().toISOString().slice(0, 10);
const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
let memberId = '';

// What the member spent: two models, two days, through two upstreams.
const CALLS = [
  { day: today, model: 'claude-sonnet-4-5', upstream: 'anthropic/claude-sonnet-4-5', cost: 1_250_000 },
  { day: today, model: 'claude-haiku-4-5', upstream: 'bedrock/claude-haiku-4-5', cost: 40_000 },
  { day: threeDaysAgo, model: 'claude-sonnet-4-5', upstream: 'anthropic/claude-sonnet-4-5', cost: 2_500_000 },
];

beforeAll(async () => {
  process.env.DATABASE_URL = inject('e2eDatabaseUrl');
  await createUser({ email: finance.email, name: 'Fin Ance', roles: ['finance'], password: finance.password }, { call_source: 'system' });
  memberId = (await createUser({ email: member.email, name: 'Mem Ber', roles: ['member'], department: 'Research', password: member.password }, { call_source: 'system' })).id;
  const tenant = await primaryTenant();
  for (const call of CALLS) {
    // Early in the UTC day, so "today" has begun for every call whatever the hour the test runs.
    const at = new Date(`${call.day}T00:00:01Z`);
    await postgresSpendLedger.record({
      callId: randomUUID(),
      traceId: randomBytes(16).toString('hex'),
      tenantId: tenant.id,
      userId: memberId,
      department: 'research',
      model: call.model,
      upstream: call.upstream,
      route: `model:${call.model}`,
      at,
      usage: { input_tokens: 1000, output_tokens: 500, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      costMicrodollars: call.cost,
      usageEstimated: false,
      outcome: 'success',
      recordedBy: 'gateway',
    });
  }
  // What the worker's scheduled job does.
  await runCostRollup({ lookbackDays: null });
});

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

async function shoot(page: Page, name: string): Promise<void> {
  if (!screenshots) return;
  for (const width of [1440, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(400);
    await page.screenshot({ path: path.join(screenshots, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 720 });
}

function dollars(microdollars: number): string {
  return `${Math.floor(microdollars / 1e6)}.${String(microdollars % 1e6).padStart(6, '0')}`;
}

describe('finance views', () => {
  it('shows finance the costs with a chart and a breakdown, exports the view as CSV and drills down to the requests', async () => {
    const { page } = browsing;
    await signInWithPassword(page, finance.email, finance.password);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Costs' }).click();
    await page.waitForURL((url) => url.pathname === '/costs');
    await page.getByRole('heading', { name: 'Costs' }).waitFor();
    expect(await page.getByText('Days are UTC days').count()).toBe(1);

    await page.goto(`/costs?from=${threeDaysAgo}&to=${today}&group_by=model&interval=day`);
    const bars = page.locator('[data-chart="costs"] .recharts-bar-rectangle');
    await bars.first().waitFor();
    // Sonnet on two days and Haiku on one: three drawn bars.
    expect(await bars.count()).toBe(3);
    expect(await page.locator('[data-stat="cost-total"] [data-stat-value]').textContent()).toBe('$3.79');
    const haiku = page.getByRole('row').filter({ hasText: 'claude-haiku-4-5' });
    const haikuCells = await haiku.getByRole('cell').allTextContents();
    expect([haikuCells[0], haikuCells[1], haikuCells[3]]).toEqual(['claude-haiku-4-5', '$0.04', '1']);
    expect(await page.getByRole('row').filter({ hasText: member.email }).count()).toBe(1);
    await shoot(page, 'costs');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    expect(download.suggestedFilename()).toBe(`gatehouse-costs_${threeDaysAgo}_${today}_by-model_day.csv`);
    const lines = (await readFile((await download.path())!, 'utf8')).trim().split('\r\n');
    expect(lines[0]).toBe('period_start,interval,group_by,key,label,requests,estimated_requests,input_tokens,output_tokens,cache_creation_input_tokens,cache_read_input_tokens,cost_usd');
    const rows = lines.slice(1).map((line) => line.split(','));
    expect(rows.map((row) => [row[0], row[3], row[11]]).sort()).toEqual(CALLS.map((call) => [call.day, call.model, dollars(call.cost)]).sort());

    // A bar opens the request explorer on the same calls.
    await page.setViewportSize({ width: 1280, height: 720 });
    await bars.first().click();
    await page.waitForURL((url) => url.pathname === '/audit');
    const drill = new URL(page.url()).searchParams;
    expect(drill.get('from')).toBe(threeDaysAgo);
    expect(drill.get('to')).toBe(threeDaysAgo);
    expect(drill.get('model')).toBe('claude-sonnet-4-5');
  });

  it('shows a member their own figures and no organisation figures, on the overview or anywhere else', async () => {
    const { page } = browsing;
    await signInWithPassword(page, member.email, member.password);
    const cards = await page.locator('[data-stat]').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-stat')));
    expect(cards).toEqual(['my-requests', 'my-spend', 'policy-version']);
    expect(await page.getByRole('heading', { name: 'Organisation' }).count()).toBe(0);
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Costs' }).count()).toBe(0);
    await shoot(page, 'overview-member');

    await page.goto('/costs');
    await page.getByText('You don’t have access to this page').waitFor();
    expect(await page.locator('[data-chart="costs"]').count()).toBe(0);
    await page.goto('/budgets');
    await page.getByText('You don’t have access to this page').waitFor();
    const refused = await page.request.get(`/api/v1/costs/export?format=csv&from=${threeDaysAgo}&to=${today}`);
    expect(refused.status()).toBe(403);
    expect((await refused.json()).error.type).toBe('forbidden');
  });

  it('lets finance set a budget on the Budgets page, versioned, and shows its standing', async () => {
    const { page } = browsing;
    await signInWithPassword(page, finance.email, finance.password);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Budgets' }).click();
    await page.getByRole('heading', { name: 'Budgets' }).waitFor();
    const form = page.getByRole('form', { name: 'Set a budget' });
    await form.getByLabel('Id', { exact: true }).fill(`e2e-${suffix}`);
    await form.getByLabel('Limit (USD)').fill('4');
    await form.getByRole('button', { name: 'Save budget' }).click();
    expect(await form.getByRole('status').textContent()).toContain(`Created budgets.e2e-${suffix} (version 1)`);
    const row = page.getByRole('table', { name: 'Budgets in force' }).getByRole('row').filter({ hasText: `budgets.e2e-${suffix}` });
    await row.waitFor();
    const cells = await row.getByRole('cell').allTextContents();
    expect(cells[0]).toContain(`dashboard · v1 by ${finance.email}`);
    expect(cells[1]).toBe('Each user');
    expect(cells[3]).toBe('$4.00');
    // The member is the only one who spent: the fullest user.
    expect(cells[4]).toContain(member.email);
    await form.getByLabel('Limit (USD)').fill('5');
    await form.getByLabel('Id', { exact: true }).fill(`e2e-${suffix}`);
    await form.getByRole('button', { name: 'Save budget' }).click();
    await form.getByRole('status').filter({ hasText: `Saved budgets.e2e-${suffix} (version 2)` }).waitFor();
    const history = page.getByRole('list', { name: 'Budget history' });
    await history.getByText(`budgets.e2e-${suffix}`).first().waitFor();
    expect(await history.getByRole('listitem').count()).toBeGreaterThanOrEqual(2);
    await shoot(page, 'budgets');
  });

  it('shows finance the organisation spend on the overview, with its chart', async () => {
    const { page } = browsing;
    await signInWithPassword(page, finance.email, finance.password);
    await page.goto('/?window=7d');
    const spend = page.locator('[data-stat="spend"]');
    await spend.waitFor();
    expect(await spend.locator('[data-stat-value]').textContent()).toBe('$3.79');
    await spend.locator('.recharts-area').waitFor();
    // Finance reads costs, not the activity log.
    expect(await page.locator('[data-stat="requests"]').count()).toBe(0);
  });
});
