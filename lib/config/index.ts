import { loadEnv } from '@/lib/env';
import { recordConfigReloadAudit } from './reload-audit';
import { ConfigStore } from './store';

export { ConfigError, formatIssue, type ConfigIssue } from './errors';
export { loadGatehouseConfig, type ConfigSnapshot } from './load';
export { noModelsNotice } from './notices';
export { parseGatehouseConfig } from './parse';
export { policyVersion } from './policy-version';
export { recordConfigReloadAudit, systemTenantId, type SystemTenant } from './reload-audit';
export { ConfigStore, type ConfigLogger, type ConfigReloadRecord, type ConfigReloadRecorder, type ConfigStoreOptions, type ReloadResult } from './store';
export * from './schema';

// One store per process, on globalThis so Next's dev module reloads do not stack up watchers.
const globalStore = globalThis as typeof globalThis & { __gatehouseConfigStore?: ConfigStore };

/**
 * The process's configuration, loaded from GATEHOUSE_CONFIG on first use and kept current as the
 * file changes. Throws ConfigError on first use when the file is invalid.
 *
 * The web server and the worker both watch the file and apply every edit, but only the worker
 * reports it (the reload line and the `config.reload` audit event): otherwise each change would be
 * printed and audited twice. scripts/web.ts marks its process GATEHOUSE_PROCESS=web. Under
 * `npm start` (GATEHOUSE_SUPERVISED=1) the supervisor has already said which file it loaded.
 */
export function configStore(): ConfigStore {
  const report = process.env.GATEHOUSE_PROCESS !== 'web';
  globalStore.__gatehouseConfigStore ??= new ConfigStore({
    path: loadEnv().GATEHOUSE_CONFIG,
    recordReload: recordConfigReloadAudit,
    report,
    announceLoad: report && process.env.GATEHOUSE_SUPERVISED !== '1',
  });
  return globalStore.__gatehouseConfigStore;
}

export async function closeConfigStore(): Promise<void> {
  const store = globalStore.__gatehouseConfigStore;
  globalStore.__gatehouseConfigStore = undefined;
  await store?.close();
}
