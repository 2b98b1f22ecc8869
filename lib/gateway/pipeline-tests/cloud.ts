// Test support shared by the cloud-upstream pipeline tests (Bedrock, Vertex, Gemini, Foundry): an
// unmodified @anthropic-ai/sdk client pointed at the gateway, and what the audit trail recorded.
import Anthropic from '@anthropic-ai/sdk';
import { expect } from 'vitest';
import type { AuditEvent } from '@/lib/audit';
import { waitForEvents, type GatewayHarness } from './harness';

export function sdkClient(gateway: GatewayHarness, token: string, traceId: string, headers: Record<string, string> = {}): Anthropic {
  return new Anthropic({ baseURL: gateway.url, apiKey: token, maxRetries: 0, timeout: 30_000, defaultHeaders: { 'x-trace-id': traceId, ...headers } });
}

/** The inference.response event of a trace (written after the answer). */
export async function responseEvent(traceId: string): Promise<AuditEvent> {
  const events = await waitForEvents(traceId, ['inference.request', 'inference.response']);
  const response = events.find((event) => event.event_type === 'inference.response');
  expect(response, `events: ${events.map((event) => event.event_type).join(', ')}`).toBeDefined();
  return response!;
}

/** A rejection's error, or a failure of the test when the promise resolved. */
export async function rejectionOf(promise: Promise<unknown>): Promise<InstanceType<typeof Anthropic.APIError>> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(Anthropic.APIError);
  return outcome as InstanceType<typeof Anthropic.APIError>;
}

