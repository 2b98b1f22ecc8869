import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, db } from '@/lib/db/client';
import { gatewayLimits, periodBounds } from '@/lib/gateway/limits';
import { testCaller, testDecision, testPrincipal } from '@/lib/gateway/limits/testing/fixtures';
import { startGateway, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import type { UserIdentity } from '@/lib/oauth/identity';
import { mintAccessToken } from '@/lib/oauth/mint';
import { createTestUser } from '@/lib/oauth/test-harness';
import { drainBackgroundTasks } from '@/lib/platform/background';
import { createSkill } from '@/lib/skills';
import type { UserProfile } from '@/lib/users/with-roles';
import { connectHome } from './home';
import { revokeAllOwnSessions, revokeOwnSession } from './sessions';

const suffix = randomBytes(3).toString('hex');
const CAPPED = `capped-${suffix}`;

const CONFIG = `
providers:
  anthropic: { type: anthropic, base_url: 'http://127.0.0.1:9' }
models:
  claude-test:
    targets: [{ provider: anthropic, model: claude-sonnet-4-5 }]
    price: { input_per_mtok_microdollars: 1000000, output_per_mtok_microdollars: 1000000 }
  claude-finance-only:
    targets: [{ provider: anthropic, model: claude-opus-4-1 }]
policy:
  model_access:
    - { match: { role: finance }, allow: [claude-finance-only, claude-test] }
    - { match: { role: member }, allow: [claude-test] }
limits:
  budgets:
    - { scope: user, match: { department: ${CAPPED} }, period: monthly, limit_microdollars: 5000000 }
`;

let gateway: GatewayHarness;

async function profileOf(user: UserIdentity): Promise<UserProfile> {
  const row = await db().user.findUniqueOrThrow({ where: { id: user.userId } });
  return { id: user.userId, email: user.email, name: user.name, tenantId: user.tenantId, departmentId: row.departmentId, departmentSlug: user.department, roles: user.roles };
}

/** Spends through the limits and the ledger, as the gateway's settle does. */
async function spend(user: UserIdentity, microdollars: number): Promise<void> {
  const principal = testPrincipal({ userId: user.userId, tenantId: user.tenantId, department: user.department, roles: user.roles, email: user.email });
  const admission = await gatewayLimits().admit({ caller: testCaller(principal), model: 'claude-test', estimatedInputTokens: 10, maxOutputTokens: 10, decision: testDecision({ requestedModel: 'claude-test' }) });
  if (!admission.ok) throw new Error(`spend refused: ${admission.rule}`);
  await admission.reservation.settle({ costMicrodollars: microdollars, usage: { input_tokens: 10, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } });
  await drainBackgroundTasks();
}

beforeAll(async () => {
  gateway = await startGateway(CONFIG, 'connect');
});

afterAll(async () => {
  await gateway.close();
  await closeAuditWriter();
  await closeDatabase();
});

describe('the employee home', () => {
  it('gives a member their own spend against their cap, their models, skills and sign-ins, and no organisation figures', async () => {
    const member = await createTestUser(['member'], CAPPED);
    await spend(member, 1_500_000);
    await createSkill({ tenantId: member.tenantId, userId: member.userId, email: member.email, roles: member.roles, callSource: 'dashboard' }, { content: `---\nname: home-${suffix}\ndescription: Mine.\n---\n\nBody\n` });
    const signIn = await mintAccessToken({ email: member.email, issuer: gateway.url, audience: `${gateway.url}/mcp` });

    const home = await connectHome(await profileOf(member));
    expect(home).toMatchObject({ gatewayUrl: gateway.url, mcpUrl: `${gateway.url}/mcp`, models: ['claude-test'], organisation: null });
    expect(home.usage).toMatchObject({ spentTodayMicrodollars: 1_500_000, spentMonthMicrodollars: 1_500_000 });
    expect(home.usage.caps).toEqual([
      { period: 'monthly', limitMicrodollars: 5_000_000, spentMicrodollars: 1_500_000, percent: 30, resetsAt: periodBounds('monthly', new Date()).end.toISOString(), active: true },
    ]);
    expect(home.skills).toContainEqual({ name: `home-${suffix}`, description: 'Mine.', own: true });
    expect(home.sessions).toEqual([expect.objectContaining({ id: signIn.sessionId, usedFor: 'Skills (MCP)' })]);

    // Their own sign-ins only: another user's session id is refused, theirs ends.
    const other = await createTestUser(['member']);
    const othersSession = await mintAccessToken({ email: other.email, issuer: gateway.url });
    await expect(revokeOwnSession(await profileOf(member), othersSession.sessionId)).rejects.toThrow(/already ended/);
    expect((await db().oAuthSession.findUniqueOrThrow({ where: { id: othersSession.sessionId } })).revokedAt).toBeNull();
    await revokeOwnSession(await profileOf(member), signIn.sessionId);
    expect((await connectHome(await profileOf(member))).sessions).toEqual([]);
    await mintAccessToken({ email: member.email, issuer: gateway.url });
    await mintAccessToken({ email: member.email, issuer: gateway.url });
    expect(await revokeAllOwnSessions(await profileOf(member))).toBe(2);
  });

  it('adds the organisation’s figures for a costs.read holder, and their own models', async () => {
    const member = await createTestUser(['member']);
    await spend(member, 250_000);
    const finance = await createTestUser(['finance']);
    const home = await connectHome(await profileOf(finance));
    expect(home.models).toEqual(['claude-finance-only', 'claude-test']);
    expect(home.usage.caps).toEqual([]);
    expect(home.organisation?.spentTodayMicrodollars).toBeGreaterThanOrEqual(250_000);
    expect(home.organisation?.activeUsersToday).toBeNull();
  });
});
