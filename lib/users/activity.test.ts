import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pool } from '@/lib/db/client';
import { startGateway, tokenFor, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { drainBackgroundTasks } from '@/lib/platform/background';
import { noteActivity } from './activity';

let gateway: GatewayHarness;
let user: UserIdentity;

beforeAll(async () => {
  const yaml = `providers:
  fake: { type: anthropic, base_url: http://127.0.0.1:9 }
models:
  claude-haiku-5-5:
    targets: [{ provider: fake, model: haiku-upstream }]
`;
  gateway = await startGateway(yaml, 'activity');
  user = await createTestUser(['member']);
});

afterAll(async () => {
  await gateway.close();
});

async function lastUse(sessionId: string): Promise<{ user: Date | null; session: Date }> {
  const { rows } = await pool().query<{ user_active: Date | null; session_used: Date }>(
    'SELECT u.last_active_at AS user_active, s.last_used_at AS session_used FROM users u JOIN oauth_sessions s ON s.user_id = u.id WHERE s.id = $1',
    [sessionId],
  );
  return { user: rows[0]!.user_active, session: rows[0]!.session_used };
}

async function sessionOf(token: string): Promise<string> {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid: string };
  return payload.sid;
}

describe('last active', () => {
  it('records a gateway request as the user’s and the session’s last use, writing at most every few minutes', async () => {
    const token = await tokenFor(gateway, user);
    const sessionId = await sessionOf(token);
    await pool().query("UPDATE oauth_sessions SET last_used_at = now() - interval '3 days' WHERE id = $1", [sessionId]);
    expect((await lastUse(sessionId)).user).toBeNull();

    const before = Date.now();
    const answer = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    expect({ status: answer.status, body: await answer.text() }).toMatchObject({ status: 200 });
    await drainBackgroundTasks(5_000);
    const first = await lastUse(sessionId);
    expect(first.user!.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(first.session.getTime()).toBe(first.user!.getTime());

    // Another request right after: nothing is written (the hot path pays a map lookup only).
    await pool().query("UPDATE users SET last_active_at = now() - interval '2 hours' WHERE id = $1", [user.userId]);
    expect((await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await drainBackgroundTasks(5_000);
    expect((await lastUse(sessionId)).user!.getTime()).toBeLessThan(before - 3_600_000);

    // Past the interval the next request writes again.
    noteActivity({ userId: user.userId, sessionId }, Date.now() + 6 * 60_000);
    await drainBackgroundTasks(5_000);
    expect((await lastUse(sessionId)).user!.getTime()).toBeGreaterThan(before);
  });
});
