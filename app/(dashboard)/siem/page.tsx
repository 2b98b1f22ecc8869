import type { Metadata } from 'next';
import { ActionForm } from '@/components/admin/ActionForm';
import { CheckboxField, SelectField, TextField } from '@/components/admin/fields';
import { INPUT, LABEL } from '@/components/admin/styles';
import { Section } from '@/components/admin/Section';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { StatCard } from '@/components/overview/StatCard';
import { SinksTable } from '@/components/siem/SinksTable';
import { dashboardActor } from '@/lib/admin/run-action';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { configStore, SIEM_SINK_TYPES } from '@/lib/config';
import { formatCount, formatUtcTimestamp } from '@/lib/dashboard/format';
import { authorize } from '@/lib/rbac/authorize';
import { listSinkViews } from '@/lib/siem/admin';
import { SIEM_TYPE_LABELS } from '@/lib/siem/view';
import { createSinkAction, deleteSinkAction, replayAction, retryDeadAction } from './actions';

export const metadata: Metadata = { title: 'SIEM forwarding' };

export default async function SiemPage() {
  const user = await requireDashboardUser('/siem');
  const principal = dashboardPrincipal(user);
  // Sinks carry the whole tenant's audit trail: only a tenant-wide grant opens the page.
  if (!(await authorize(principal, 'audit.read'))) return <AccessDenied permission="audit.read" />;
  const config = configStore().current().config;
  const [sinks, canManage] = await Promise.all([listSinkViews(dashboardActor(user), config), authorize(principal, 'policy.admin')]);
  const behind = sinks.reduce((max, sink) => Math.max(max, sink.lagEvents), 0);
  const dead = sinks.reduce((sum, sink) => sum + sink.deadBatches, 0);
  const lastDelivery = sinks.map((sink) => sink.lastDeliveredAt).filter((at): at is string => at !== null).sort().at(-1) ?? null;

  return (
    <>
      <PageHeader
        title="SIEM forwarding"
        description="Every audit event and every signed chain checkpoint goes to each sink at least once, carrying its event_id for de-duplication. The worker sends every 5 seconds, retries with backoff, and keeps a batch as a dead letter after its last attempt. Times are UTC."
      />
      <div className="space-y-6">
        <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4">
          <StatCard id="siem-sinks" label="Sinks" value={formatCount(sinks.filter((sink) => sink.enabled).length)} hint={`${formatCount(sinks.length)} defined`} />
          <StatCard id="siem-lag" label="Furthest behind" value={formatCount(behind)} hint="events not yet acknowledged" />
          <StatCard id="siem-dead" label="Dead letters" value={formatCount(dead)} hint="batches waiting for a retry" />
          <StatCard id="siem-last" label="Last delivery" value={lastDelivery ? formatUtcTimestamp(lastDelivery) : 'never'} mono />
        </dl>
        <SinksTable sinks={sinks} actions={canManage ? { retryDead: retryDeadAction, replay: replayAction, remove: deleteSinkAction } : undefined} />
        {canManage ? (
          <Section
            title="Add a sink"
            description="The URL and token are encrypted at rest with GATEHOUSE_SECRET. Sinks in gatehouse.yaml (siem.sinks) take their token from an environment variable instead. README.md, “SIEM forwarding”, has the URL and token each vendor needs."
          >
            <ActionForm action={createSinkAction} label="Add a sink" submitLabel="Add sink" pendingLabel="Adding…" resetOnSuccess>
              <div className="grid grid-cols-1 gap-4 md:grid-cols-2">
                <TextField label="Name" name="id" required placeholder="splunk-prod" hint="Lower-case letters, digits, _ . -" />
                <SelectField label="Type" name="type" options={SIEM_SINK_TYPES.map((type) => ({ value: type, label: SIEM_TYPE_LABELS[type] }))} />
                <TextField label="URL" name="url" required placeholder="https://splunk.example.com:8088" hint="Base URL; Gatehouse adds the vendor's intake path. Sumo Logic and webhooks: the full URL." />
                <label className="block space-y-1.5">
                  <span className={LABEL}>Token</span>
                  <input aria-label="Token" name="token" type="password" autoComplete="off" className={INPUT} />
                  <span className="block text-xs text-slate-500">HEC token, Elastic API key, Datadog API key or bearer token; empty for Sumo Logic.</span>
                </label>
                <TextField label="Event types" name="event_types" placeholder="inference.request, policy.decision" hint="Comma-separated; empty sends every type." />
                <TextField label="Departments" name="departments" placeholder="research, finance" hint="Comma-separated department slugs; empty sends everyone's." />
                <TextField label="Redact fields" name="redact" placeholder="actor.email, origin.ip" hint="Dotted paths removed before sending." />
                <TextField label="Index or data stream" name="index" placeholder="logs-gatehouse.audit-default" hint="Elastic and Splunk only; optional." />
              </div>
              <div className="mt-4 flex flex-wrap gap-6">
                <CheckboxField label="Send signed checkpoints" name="checkpoints" defaultChecked />
                <CheckboxField label="Send the existing audit trail first" name="backfill" hint="Otherwise the sink starts with events recorded from now on." />
              </div>
            </ActionForm>
          </Section>
        ) : null}
      </div>
    </>
  );
}
