import { z } from 'zod';
import { db } from '@/lib/db/client';
import { recordPluginEvent, type PluginActor } from './events';

/** What gatehouse-sync reports after each run that changed something or failed. */
export const syncReportSchema = z.strictObject({
  device_id: z.string().regex(/^[A-Za-z0-9._:-]{8,100}$/, 'device ids are 8-100 of [A-Za-z0-9._:-]'),
  seq: z.number().int().nonnegative(),
  installed: z.array(z.strictObject({ name: z.string().max(64), version: z.string().max(64), digest: z.string().regex(/^[0-9a-f]{64}$/) })).max(500),
  removed: z.array(z.string().max(64)).max(500),
  present: z.array(z.strictObject({ name: z.string().max(64), version: z.string().max(64) })).max(500),
  failed: z.array(z.strictObject({ name: z.string().max(64), error: z.string().max(2000) })).max(500),
  error: z.string().max(2000).optional(),
  /** The MCP allowlist step (gatehouse-sync --managed-mcp): the sequence and servers written, or why not. */
  mcp: z
    .union([z.strictObject({ seq: z.number().int().nonnegative(), servers: z.array(z.string().max(64)).max(500), written: z.boolean() }), z.strictObject({ error: z.string().max(2000) })])
    .optional(),
});
export type SyncReport = z.infer<typeof syncReportSchema>;

/** Records a device's sync: one `plugin.sync` event, and what the device now runs. */
export async function recordSync(actor: PluginActor, report: SyncReport): Promise<string> {
  const mcpError = report.mcp && 'error' in report.mcp ? report.mcp.error : null;
  const failed = report.failed.length > 0 || Boolean(report.error) || mcpError !== null;
  const traceId = await recordPluginEvent(actor, 'sync', {
    plugin: { name: report.installed.length === 1 ? report.installed[0]!.name : '*' },
    outcome: failed ? 'failure' : 'success',
    ...(report.error ? { error: report.error } : report.failed.length ? { error: report.failed.map((entry) => `${entry.name}: ${entry.error}`).join('; ').slice(0, 3900) } : mcpError ? { error: mcpError } : {}),
    attributes: {
      device_id: report.device_id,
      seq: report.seq,
      installed: report.installed.map((entry) => `${entry.name}@${entry.version}`).join(',').slice(0, 3900),
      removed: report.removed.join(',').slice(0, 3900),
      present: report.present.map((entry) => `${entry.name}@${entry.version}`).join(',').slice(0, 3900),
      ...(report.mcp && 'seq' in report.mcp ? { mcp_seq: report.mcp.seq, mcp_servers: report.mcp.servers.join(',').slice(0, 3900) } : {}),
    },
  });
  await db().pluginDeviceSync.upsert({
    where: { tenantId_deviceId: { tenantId: actor.tenantId, deviceId: report.device_id } },
    create: { tenantId: actor.tenantId, deviceId: report.device_id, userId: actor.userId, sequence: BigInt(report.seq), plugins: report.present, syncedAt: new Date() },
    update: { userId: actor.userId, sequence: BigInt(report.seq), plugins: report.present, syncedAt: new Date() },
  });
  return traceId;
}

export function deviceSyncs(tenantId: string) {
  return db().pluginDeviceSync.findMany({ where: { tenantId }, orderBy: { syncedAt: 'desc' }, take: 500 });
}
