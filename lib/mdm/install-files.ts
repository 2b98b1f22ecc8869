import type { AdminActor } from '@/lib/admin/actor';
import { recordRolloutDownload, requireRolloutAdmin } from './admin';
import type { Artifact } from './artifacts';
import { rolloutContext } from './context';
import { launchdAgent, systemdUnits, taskSchedulerXml, windowsLauncher } from './install';

/** Small files for installing the helper and scheduling the sync agent, generated from the settings. */
export const INSTALL_FILES = ['gatehouse-helper.cmd', 'gatehouse-sync.plist', 'gatehouse-sync.service', 'gatehouse-sync.timer', 'gatehouse-sync-task.xml'] as const;
export type InstallFile = (typeof INSTALL_FILES)[number];

export async function installFile(actor: AdminActor, name: InstallFile): Promise<Artifact> {
  await requireRolloutAdmin(actor, 'rollout.download');
  const artifact = await generateInstallFile(actor, name);
  await recordRolloutDownload(actor, artifact);
  return artifact;
}

async function generateInstallFile(actor: AdminActor, name: InstallFile): Promise<Artifact> {
  const context = await rolloutContext(actor.tenantId);
  const text = (body: string, contentType = 'text/plain; charset=utf-8') => ({ filename: name, contentType, body: Buffer.from(body) });
  switch (name) {
    case 'gatehouse-helper.cmd':
      return text(windowsLauncher(context));
    case 'gatehouse-sync.plist':
      return text(launchdAgent(context, context.tenant.slug), 'application/x-plist');
    case 'gatehouse-sync.service':
      return text(systemdUnits(context).service);
    case 'gatehouse-sync.timer':
      return text(systemdUnits(context).timer);
    case 'gatehouse-sync-task.xml':
      // Task Scheduler imports UTF-16 XML, as the declaration says.
      return { filename: name, contentType: 'application/xml', body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(taskSchedulerXml(context), 'utf16le')]) };
  }
}
