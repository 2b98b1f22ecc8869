// Test support for org plugins (imported by tests only): a live Gatehouse data plane on
// 127.0.0.1, users as plugin actors, and publishing sample plugins.
import { randomBytes } from 'node:crypto';
import { startGateway, tokenFor, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import type { PluginActor } from '../events';
import { publishVersion, type PublishResult } from '../lifecycle';
import { pluginFromFiles } from '../upload';
import { asUpload, samplePluginFiles, type SampleOptions } from './sample';

const CONFIG = `
providers:
  anthropic: { type: anthropic, base_url: 'http://127.0.0.1:9' }
models:
  claude-test:
    targets: [{ provider: anthropic, model: claude-sonnet-4-5 }]
    price: { input_per_mtok_microdollars: 0, output_per_mtok_microdollars: 0 }
`;

export function startPluginServer(name: string): Promise<GatewayHarness> {
  return startGateway(CONFIG, name);
}

export function actorOf(user: UserIdentity, callSource: PluginActor['callSource'] = 'dashboard'): PluginActor {
  return { userId: user.userId, tenantId: user.tenantId, email: user.email, roles: user.roles, callSource };
}

/** A plugin name no other test file uses. */
export function uniqueName(base: string): string {
  return `${base}-${randomBytes(3).toString('hex')}`;
}

export async function users(departmentSuffix: string) {
  const research = `research-${departmentSuffix}`;
  const sales = `sales-${departmentSuffix}`;
  // One at a time: two users creating the same department at once race on its row.
  const author = await createTestUser(['author'], research);
  const admin = await createTestUser(['admin']);
  const researcher = await createTestUser(['member'], research);
  const seller = await createTestUser(['member'], sales);
  return { author, admin, researcher, seller, research, sales };
}

export function publishSample(actor: PluginActor, options: SampleOptions & { changelog?: string }): Promise<PublishResult> {
  return publishVersion(actor, pluginFromFiles(asUpload(samplePluginFiles(options))), { changelog: options.changelog ?? '' });
}

export { tokenFor, type GatewayHarness };
