import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '@/lib/audit';
import { parseAttempts } from './attempts';
import type { LineageEntry } from './repository';
import { traceTimeline } from './timeline';

function entry(eventType: string, event: Partial<AuditEvent>, extra: Partial<LineageEntry> = {}): LineageEntry {
  return {
    row: {
      occurredAt: '2026-11-28T10:00:00.000Z',
      eventId: `${eventType}-id`,
      eventType,
      action: 'x',
      outcome: event.outcome ?? 'success',
      actor: 'ada@example.test',
      department: null,
      model: 'claude-sonnet-4-5',
      upstream: null,
      decision: event.policy?.decision ?? null,
      rule: event.policy?.rule ?? null,
      costMicrodollars: null,
      traceId: 'a'.repeat(32),
    },
    event: { event_type: eventType, ...event } as AuditEvent,
    ledger: null,
    ...extra,
  };
}

describe('trace timeline', () => {
  it('reads the failover path the gateway writes', () => {
    expect(parseAttempts('anthropic/claude-sonnet-4-5:server_error:529:120ms, bedrock/claude-sonnet-4-5:success:200:900ms, x/y:connect_error:30ms')).toEqual([
      { target: 'anthropic/claude-sonnet-4-5', outcome: 'server_error', status: 529, durationMs: 120 },
      { target: 'bedrock/claude-sonnet-4-5', outcome: 'success', status: 200, durationMs: 900 },
      { target: 'x/y', outcome: 'connect_error', status: null, durationMs: 30 },
    ]);
    expect(parseAttempts(undefined)).toEqual([]);
  });

  it('orders request, policy, attempts, response, tool and MCP steps, and ends with the cost', () => {
    const steps = traceTimeline(
      [
        entry('inference.request', { attributes: { route: 'routes[0]' } }, { ledger: { costMicrodollars: '4200', outcome: 'success', recordedBy: 'gateway', usageEstimated: false } }),
        entry('policy.decision', { policy: { decision: 'redact', rule: 'policy.secrets.aws', reason: '1 × AWS Access Key ID replaced before the request left Gatehouse' } }),
        entry('inference.response', { attributes: { attempts: 'anthropic/m:timeout:30000ms, bedrock/m:success:200:800ms', status: 200 }, gen_ai: { operation: 'chat', provider: 'bedrock', input_tokens: 10, output_tokens: 5 } }),
        entry('mcp.tool_call', { mcp: { server: 'skills', method: 'tools/call', tool: 'get_skill' } }),
      ],
      new Map(),
    );
    expect(steps.map((step) => step.title)).toEqual(['Request', 'Policy', 'Upstream attempt 1', 'Upstream attempt 2', 'Response', 'MCP invocation', 'Cost']);
    expect(steps[1]!.detail).toBe('redacted: AWS Access Key ID');
    expect(steps[2]!.detail).toBe('anthropic/m · timeout · 30000 ms');
    expect(steps.at(-1)!.detail).toBe('$0.0042 billed (success, recorded by gateway)');
  });
});
