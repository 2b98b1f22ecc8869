import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { closeAuditWriter, loadDocument, type AuditEvent } from '@/lib/audit';
import { closeDatabase, pool } from '@/lib/db/client';
import { testCaller } from '@/lib/gateway/testing/dispatch-input';
import { recordInferenceRequest, type CallRecord } from '.';

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

function callOf(tenantId: string): CallRecord {
  const caller = testCaller({ traceId: randomBytes(16).toString('hex') });
  return { caller: { ...caller, principal: { ...caller.principal, tenantId, userId: randomUUID() } }, clientPolicyVersion: null, ip: '127.0.0.1', userAgent: 'test' };
}

/** Words that do not compress into each other, so byte counts mean what they say. */
function prose(bytes: number): string {
  return randomBytes(bytes).toString('base64').slice(0, bytes);
}

async function storedBytes(tenantId: string): Promise<number> {
  const { rows } = await pool().query<{ bytes: string | null }>('SELECT sum(byte_size) AS bytes FROM audit_content WHERE tenant_id = $1', [tenantId]);
  return Number(rows[0]?.bytes ?? 0);
}

async function requestEvents(tenantId: string): Promise<AuditEvent[]> {
  const { rows } = await pool().query<{ event: AuditEvent }>("SELECT event FROM audit_events WHERE tenant_id = $1 AND event_type = 'inference.request' ORDER BY seq", [tenantId]);
  return rows.map((row) => row.event);
}

describe('inference request evidence', () => {
  it('stores N turns of a growing conversation in O(N) bytes, each turn reassembling to its body', async () => {
    const tenantId = randomUUID();
    const record = callOf(tenantId);
    const system = [{ type: 'text', text: `You are a careful assistant. ${prose(4_000)}`, cache_control: { type: 'ephemeral' } }];
    const tools = [{ name: 'read_file', description: prose(1_000), input_schema: { type: 'object', properties: { path: { type: 'string' } } } }];
    const messages: Record<string, unknown>[] = [];
    const turns = 40;
    const bodies: Record<string, unknown>[] = [];
    let bytesAtHalf = 0;
    for (let turn = 1; turn <= turns; turn++) {
      if (turn > 1) messages.push({ role: 'assistant', content: [{ type: 'text', text: prose(1_500) }] });
      messages.push({ role: 'user', content: prose(1_500) });
      const body = { model: 'claude-sonnet-5-5', max_tokens: 1024, stream: true, system, tools, messages: [...messages] };
      bodies.push(body);
      await recordInferenceRequest(record, {
        model: body.model,
        stream: true,
        maxTokens: body.max_tokens,
        temperature: undefined,
        route: { requestedModel: body.model, routeName: 'test', targets: [] },
        decision: { decision: 'allow' },
        prompt: body,
        retentionDays: 30,
        tags: {},
        estimatedInputTokens: 1,
        requestBytes: JSON.stringify(body).length,
      });
      if (turn === turns / 2) bytesAtHalf = await storedBytes(tenantId);
    }

    const finalBodyBytes = Buffer.byteLength(JSON.stringify(bodies.at(-1)));
    const sentBytes = bodies.reduce((sum, body) => sum + Buffer.byteLength(JSON.stringify(body)), 0);
    const stored = await storedBytes(tenantId);
    console.log(`${turns} turns: ${sentBytes} bytes of request bodies, ${stored} bytes stored (final body ${finalBodyBytes})`);
    // Whole bodies every turn would be about turns/2 times the final body; once per message is about one.
    expect(stored).toBeLessThan(1.5 * finalBodyBytes);
    // Linear growth: the second half of the conversation stores about what the first half did.
    expect(stored - bytesAtHalf).toBeLessThan(1.5 * bytesAtHalf);

    const events = await requestEvents(tenantId);
    expect(events).toHaveLength(turns);
    for (const [index, event] of events.entries()) {
      // One reference per event, however long the conversation: the manifest.
      expect(event.content_refs).toHaveLength(1);
      expect(await loadDocument(tenantId, event.content_refs![0]!.sha256)).toEqual(bodies[index]);
    }
  });
});
