// Test support for the MCP allowlist (imported by tests only): a live Gatehouse data plane on
// 127.0.0.1, a tenant of the test's own with its departments and an administrator acting from the
// CLI, and a real MCP server (SDK, Streamable HTTP and SSE) on loopback for servers to register.
import { randomBytes } from 'node:crypto';
import { db } from '@/lib/db/client';
import { startGateway, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import type { RegistryActor } from '@/lib/mcp/registry';
import { startFakeUpstream, type FakeTool, type FakeUpstream } from '@/lib/mcp/registry/testing/upstream-server';
import { createTestUser } from '@/lib/oauth/test-harness';
import { ensureDepartment } from '@/lib/users/tenant';

const CONFIG = `
providers:
  anthropic: { type: anthropic, base_url: 'http://127.0.0.1:9' }
models:
  claude-test:
    targets: [{ provider: anthropic, model: claude-sonnet-4-5 }]
    price: { input_per_mtok_microdollars: 0, output_per_mtok_microdollars: 0 }
`;

export interface AllowlistFixture {
  server: GatewayHarness;
  upstream: FakeUpstream;
  tenantId: string;
  admin: RegistryActor;
  close(): Promise<void>;
}

/**
 * Starts it all for one test file. `name` names the gateway's database role and the tenant's
 * slug; `departments` are created before any user (users created at once race on a new one).
 */
export async function startAllowlistFixture(options: { name: string; title: string; departments: string[]; tools?: FakeTool[] }): Promise<AllowlistFixture> {
  const server = await startGateway(CONFIG, options.name);
  // Whatever fails after the gateway started must close it, or the test file hangs on its handles.
  let tenantId: string;
  let admin: RegistryActor;
  let upstream: FakeUpstream;
  try {
    tenantId = (await db().tenant.create({ data: { slug: `${options.name}-${randomBytes(4).toString('hex')}`, name: options.title } })).id;
    for (const department of options.departments) await ensureDepartment(tenantId, department);
    const adminUser = await createTestUser(['admin'], undefined, tenantId);
    admin = { userId: adminUser.userId, tenantId, email: adminUser.email, roles: adminUser.roles, callSource: 'cli' };
    upstream = await startFakeUpstream(options.tools);
  } catch (error) {
    await server.close();
    throw error;
  }
  return {
    server,
    upstream,
    tenantId,
    admin,
    async close() {
      await upstream.close();
      await server.close();
    },
  };
}
