import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/admin/ActionForm';
import { CheckboxField, Hidden, TextField } from '@/components/admin/fields';
import { Section } from '@/components/admin/Section';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { dashboardPluginActor } from '@/lib/plugins/dashboard';
import { reviewQueue } from '@/lib/plugins/marketplace';
import { holdsAnywhere } from '@/lib/rbac/authorize';
import { approveAction, decideRequestAction, rejectAction } from '../actions';
import { ChangedFilesTable } from '@/components/plugins/ChangedFilesTable';

export const metadata: Metadata = { title: 'Plugin reviews' };

export default async function ReviewQueuePage() {
  const user = await requireDashboardUser('/plugins/review');
  if (!(await holdsAnywhere(dashboardPrincipal(user), 'plugins.review'))) return <AccessDenied permission="plugins.review" tenantWide={false} />;
  const queue = await reviewQueue(dashboardPluginActor(user));

  return (
    <>
      <PageHeader title="Plugin reviews" description="Versions waiting for a decision, with what changed since the last approved version. Hooks and MCP servers run code or connect out from every laptop that installs the plugin: they are listed first." />
      <div className="space-y-6">
        {queue.versions.length === 0 ? <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-sm text-slate-600">No versions are waiting for review.</p> : null}
        {queue.versions.map((item) => (
          <Section key={item.versionId} title={`${item.name}@${item.version}`} description={`${item.previous ? `Changes since ${item.previous}` : 'New plugin'} · submitted by ${item.author} on ${item.createdAt.toISOString().slice(0, 10)}${item.department ? ` · ${item.department}` : ''}`}>
            {item.changelog ? <p className="mb-3 whitespace-pre-wrap text-sm text-slate-700">{item.changelog}</p> : null}
            {item.hooksAdded.length || item.mcpServersAdded.length ? (
              <div role="note" aria-label="Code that runs on laptops" className="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900">
                <p className="font-semibold">Adds code that runs on laptops</p>
                <ul className="mt-1 space-y-1 font-mono text-xs">
                  {item.hooksAdded.map((hook, index) => (
                    <li key={`hook-${index}`}>
                      hook {hook.event}
                      {hook.matcher ? ` (${hook.matcher})` : ''}: {hook.run}
                    </li>
                  ))}
                  {item.mcpServersAdded.map((server) => (
                    <li key={`mcp-${server.name}`}>
                      MCP server {server.name} ({server.transport}): {server.target}
                    </li>
                  ))}
                </ul>
              </div>
            ) : null}
            <div className="mb-4">
              <ChangedFilesTable caption={`Files changed in ${item.name}@${item.version}`} rows={item.files.map((file) => ({ path: file.path, change: file.change, runsCode: file.runsCode }))} />
            </div>
            <div className="grid gap-4 sm:grid-cols-2">
              <ActionForm action={approveAction} label={`Approve ${item.name}@${item.version}`} submitLabel="Approve and sign">
                <Hidden name="versionId" value={item.versionId} />
                <Hidden name="name" value={item.name} />
                <TextField label="Comment" name="comment" />
                <CheckboxField name="selfInstall" label="Members may install it themselves" defaultChecked hint="Otherwise each install is a request to a reviewer." />
              </ActionForm>
              <ActionForm action={rejectAction} label={`Reject ${item.name}@${item.version}`} submitLabel="Reject" tone="danger">
                <Hidden name="versionId" value={item.versionId} />
                <Hidden name="name" value={item.name} />
                <TextField label="Why (the author sees this)" name="comment" required />
              </ActionForm>
            </div>
            <p className="mt-3 text-xs">
              <Link href={`/plugins/${item.name}`} className="text-indigo-700 hover:underline">
                Open the plugin page
              </Link>
            </p>
          </Section>
        ))}
        <Section title="Install requests" description="Members asking for plugins that are not open to self-install.">
          {queue.requests.length === 0 ? <p className="text-sm text-slate-600">No pending requests.</p> : null}
          <ul className="space-y-3">
            {queue.requests.map((request) => (
              <li key={request.id} className="flex flex-wrap items-center gap-3 text-sm">
                <span>
                  <strong>{request.requester}</strong> asks for{' '}
                  <Link href={`/plugins/${request.plugin}`} className="text-indigo-700 hover:underline">
                    {request.plugin}
                  </Link>
                  {request.reason ? `: “${request.reason}”` : ''}
                </span>
                <ActionForm action={decideRequestAction} label={`Grant ${request.plugin} to ${request.requester}`} submitLabel="Grant" inline>
                  <Hidden name="requestId" value={request.id} />
                  <Hidden name="name" value={request.plugin} />
                  <Hidden name="decision" value="grant" />
                </ActionForm>
                <ActionForm action={decideRequestAction} label={`Decline ${request.plugin} for ${request.requester}`} submitLabel="Decline" tone="danger" inline>
                  <Hidden name="requestId" value={request.id} />
                  <Hidden name="name" value={request.plugin} />
                  <Hidden name="decision" value="decline" />
                </ActionForm>
              </li>
            ))}
          </ul>
        </Section>
      </div>
    </>
  );
}
