import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { requireAdmin } from '@/lib/admin/guard';
import { recordAdminChange } from '@/lib/admin/audit';
import type { AdminActor } from '@/lib/admin/actor';
import { AUDIT_EVENT_TYPES } from '@/lib/audit';
import { SIEM_SINK_TYPES, type GatehouseConfig, type SiemSinkType } from '@/lib/config';
import { siemSinkId } from '@/lib/config/schema/siem';
import { pool } from '@/lib/db/client';
import { addressRange, isMetadataHostname } from '@/lib/platform/outbound/address';
import { UserInputError } from '@/lib/users/tenant';
import { BATCH_EVENTS } from './forwarder';
import { deleteDashboardSink, insertDashboardSink, replaySince, retryDeadBatches, sinkById, sinkHealth } from './repository';
import { dashboardSinkSchema, sealSinkSecret } from './sinks';
import type { SinkView } from './view';

function describeFilter(filter: { event_types?: string[] | undefined; departments?: string[] | undefined } | undefined): string {
  const parts = [filter?.event_types ? `types: ${filter.event_types.join(', ')}` : 'all event types', filter?.departments ? `departments: ${filter.departments.join(', ')}` : ''];
  return parts.filter(Boolean).join('; ');
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function destinationOf(origin: string, definition: unknown, config: GatehouseConfig, name: string): string {
  if (origin === 'config') {
    const sink = config.siem.sinks.find((candidate) => candidate.id === name);
    if (!sink) return 'removed from gatehouse.yaml';
    return sink.url ? originOf(sink.url) : `URL from $${sink.url_env}`;
  }
  const parsed = dashboardSinkSchema.safeParse(definition);
  return parsed.success ? (parsed.data.destination ?? 'sealed URL') : 'sealed URL';
}

/** Every sink of the tenant with its health; needs audit.read tenant-wide. */
export async function listSinkViews(actor: AdminActor, config: GatehouseConfig): Promise<SinkView[]> {
  await requireAdmin(actor, 'audit.read', undefined, 'siem.sinks.read');
  const health = await sinkHealth(pool(), actor.tenantId);
  return health.map((sink) => {
    const definition = (sink.definition ?? {}) as { filter?: { event_types?: string[]; departments?: string[] }; redact?: string[] };
    return {
      id: sink.id,
      name: sink.name,
      type: sink.type as SiemSinkType,
      origin: sink.origin === 'config' ? 'config' : 'dashboard',
      enabled: sink.enabled,
      destination: destinationOf(sink.origin, sink.definition, config, sink.name),
      filter: describeFilter(definition.filter),
      redact: definition.redact ?? [],
      lagEvents: sink.lag_events,
      oldestPendingAt: sink.oldest_pending_at?.toISOString() ?? null,
      pendingBatches: sink.pending_batches,
      retryingBatches: sink.retrying_batches,
      deadBatches: sink.dead_batches,
      deadEvents: sink.dead_events,
      lastDeliveredAt: sink.last_delivered_at?.toISOString() ?? null,
      lastError: sink.last_error,
    };
  });
}

/**
 * A receiver may well sit on the company network (Splunk on 10.x), so private addresses stay
 * allowed; cloud metadata services (by name, or a link-local address literal) never are: the
 * forwarder's requests and the error text shown on the SIEM page must not reach them.
 */
export function isCloudMetadataUrl(url: string): boolean {
  const hostname = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  return isMetadataHostname(hostname) || addressRange(hostname) === 'linkLocal';
}

const list = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

export const createSinkForm = z.object({
  id: siemSinkId,
  type: z.enum(SIEM_SINK_TYPES, { error: 'choose a sink type' }),
  url: z.url({ protocol: /^https?$/, error: 'enter the http(s) URL of the receiver' }).refine((url) => !isCloudMetadataUrl(url), 'a SIEM receiver cannot be a cloud metadata service'),
  token: z.string().max(4000).optional(),
  event_types: list.pipe(z.array(z.enum(AUDIT_EVENT_TYPES, { error: `event types are among: ${AUDIT_EVENT_TYPES.join(', ')}` }))),
  departments: list,
  redact: list,
  index: z.string().trim().max(255).optional(),
  checkpoints: z.string().optional().transform((value) => value === 'on'),
  backfill: z.string().optional().transform((value) => value === 'on'),
});

export type CreateSinkInput = z.output<typeof createSinkForm>;

/** Adds a sink from the dashboard; its URL and token are sealed with GATEHOUSE_SECRET. Needs policy.admin. */
export async function createDashboardSink(actor: AdminActor, input: CreateSinkInput, config: GatehouseConfig): Promise<string> {
  await requireAdmin(actor, 'policy.admin', undefined, 'siem.sink.create', { type: 'siem_sink', name: input.id });
  if (config.siem.sinks.some((sink) => sink.id === input.id)) throw new UserInputError(`gatehouse.yaml already has a sink named ${input.id}`);
  const definition = dashboardSinkSchema.safeParse({
    id: input.id,
    type: input.type,
    destination: originOf(input.url),
    filter: { ...(input.event_types.length > 0 ? { event_types: input.event_types } : {}), ...(input.departments.length > 0 ? { departments: input.departments } : {}) },
    redact: input.redact,
    checkpoints: input.checkpoints,
    backfill: input.backfill,
    ...(input.index ? { index: input.index } : {}),
  });
  if (!definition.success) throw new UserInputError(definition.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  const id = randomUUID();
  const sealed = await sealSinkSecret(id, { url: input.url, ...(input.token ? { token: input.token } : {}) });
  const inserted = await insertDashboardSink(pool(), { id, tenantId: actor.tenantId, name: input.id, type: input.type, definition: definition.data, sealedSecret: sealed, backfill: input.backfill });
  if (!inserted) throw new UserInputError(`a sink named ${input.id} exists already`);
  await recordAdminChange(actor, 'siem.sink.create', { type: 'siem_sink', id, name: input.id }, {
    sink_type: input.type,
    destination: originOf(input.url),
    with_token: Boolean(input.token),
    backfill: input.backfill,
  });
  return id;
}

async function sinkOfTenant(actor: AdminActor, id: string) {
  const sink = z.guid().safeParse(id).success ? await sinkById(pool(), id) : undefined;
  if (!sink || sink.tenant_id !== actor.tenantId) throw new UserInputError('that sink does not exist');
  return sink;
}

/** Removes a dashboard sink and its outbox (gatehouse.yaml sinks are removed by editing the file). */
export async function removeDashboardSink(actor: AdminActor, id: string): Promise<void> {
  const sink = await sinkOfTenant(actor, id);
  await requireAdmin(actor, 'policy.admin', undefined, 'siem.sink.delete', { type: 'siem_sink', id, name: sink.name });
  if (sink.origin !== 'dashboard') throw new UserInputError(`${sink.name} is defined in gatehouse.yaml: remove it there`);
  await deleteDashboardSink(pool(), actor.tenantId, id);
  await recordAdminChange(actor, 'siem.sink.delete', { type: 'siem_sink', id, name: sink.name });
}

/** Sends the sink's dead letters again from where each stopped. */
export async function retryDeadLetters(actor: AdminActor, id: string): Promise<number> {
  const sink = await sinkOfTenant(actor, id);
  await requireAdmin(actor, 'policy.admin', undefined, 'siem.dead_letters.retry', { type: 'siem_sink', id, name: sink.name });
  const batches = await retryDeadBatches(pool(), actor.tenantId, id);
  await recordAdminChange(actor, 'siem.dead_letters.retry', { type: 'siem_sink', id, name: sink.name }, { batches });
  return batches;
}

/** Queues every event of the last `hours` for the sink again; receivers de-duplicate by event_id. */
export async function replaySink(actor: AdminActor, id: string, hours: number): Promise<{ batches: number; events: number }> {
  const sink = await sinkOfTenant(actor, id);
  await requireAdmin(actor, 'policy.admin', undefined, 'siem.replay', { type: 'siem_sink', id, name: sink.name });
  const since = new Date(Date.now() - hours * 3_600_000);
  const result = await replaySince(pool(), actor.tenantId, id, since, BATCH_EVENTS);
  await recordAdminChange(actor, 'siem.replay', { type: 'siem_sink', id, name: sink.name }, { hours, since: since.toISOString(), events: result.events });
  return result;
}
