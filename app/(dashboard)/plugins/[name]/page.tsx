import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { ActionForm } from '@/components/admin/ActionForm';
import { Hidden, SelectField, TextField } from '@/components/admin/fields';
import { Section } from '@/components/admin/Section';
import { INPUT, LABEL } from '@/components/admin/styles';
import { PageHeader } from '@/components/layout/PageHeader';
import { Stars } from '@/components/plugins/Stars';
import { Badge, type BadgeTone } from '@/components/table/Badge';
import { requireDashboardUser } from '@/lib/auth/session';
import { dashboardPluginActor } from '@/lib/plugins/dashboard';
import { pluginPage, type VersionView } from '@/lib/plugins/marketplace';
import { entitleAction, forkAction, hideAction, installAction, rateAction, replyAction, revokeAction, withdrawAction } from '../actions';
import { PluginFilesTable } from '@/components/plugins/PluginFilesTable';

export async function generateMetadata({ params }: { params: Promise<{ name: string }> }): Promise<Metadata> {
  return { title: (await params).name };
}

const STATUS_TONES: Record<string, BadgeTone> = { approved: 'green', pending: 'amber', rejected: 'red', withdrawn: 'red' };

function SignatureBadge({ signature }: { signature: VersionView['signature'] }) {
  if (signature.status === 'verified') return <Badge tone="green">Signature verified · key {signature.kid?.slice(0, 8)}</Badge>;
  if (signature.status === 'invalid') return <Badge tone="red">Signature invalid</Badge>;
  return <Badge>Not signed</Badge>;
}

export default async function PluginPage({ params }: { params: Promise<{ name: string }> }) {
  const { name } = await params;
  const user = await requireDashboardUser(`/plugins/${name}`);
  const page = await pluginPage(dashboardPluginActor(user), name);
  if (!page) notFound();
  const current = page.current;
  const isOwner = page.owner.id === user.id;
  const ratingAverage = page.ratings.filter((rating) => !rating.hidden).reduce((sum, rating, _index, all) => sum + rating.stars / all.length, 0);
  const visibleRatings = page.ratings.filter((rating) => !rating.hidden).length;

  return (
    <>
      <PageHeader title={page.name} description={page.description}>
        <Link href="/marketplace" className="text-sm font-medium text-indigo-700 hover:underline">
          ← Marketplace
        </Link>
      </PageHeader>
      <div className="mb-6 flex flex-wrap items-center gap-2">
        {current ? <Badge tone="indigo">v{current.version}</Badge> : null}
        <Badge>{page.category}</Badge>
        {page.department ? <Badge>{page.department}</Badge> : null}
        {current ? <SignatureBadge signature={current.signature} /> : null}
        <Stars value={visibleRatings ? ratingAverage : null} count={visibleRatings} />
        <span className="text-sm text-slate-600">by {page.owner.name}</span>
        {page.forkedFrom ? (
          <span className="text-sm text-slate-600">
            Forked from{' '}
            <Link href={`/plugins/${page.forkedFrom.name}`} className="font-medium text-indigo-700 hover:underline">
              {page.forkedFrom.name}@{page.forkedFrom.version}
            </Link>
          </span>
        ) : null}
      </div>
      {page.status === 'revoked' ? (
        <p role="alert" className="mb-6 rounded-md border border-rose-200 bg-rose-50 px-4 py-3 text-sm text-rose-800">
          Revoked: {page.revokedReason}. It has been removed from every device.
        </p>
      ) : null}
      {page.versions.filter((version) => version.status === 'withdrawn' && version.withdrawnReason).slice(0, 3).map((version) => (
        <p key={version.id} role="note" className="mb-3 rounded-md border border-amber-200 bg-amber-50 px-4 py-2 text-sm text-amber-900">
          Version {version.version} was withdrawn: {version.withdrawnReason}
        </p>
      ))}

      <div className="grid gap-6 lg:grid-cols-3">
        <div className="space-y-6 lg:col-span-2">
          <Section title="README">
            {page.readme ? <pre className="whitespace-pre-wrap break-words font-sans text-sm leading-6 text-slate-800">{page.readme}</pre> : <p className="text-sm text-slate-500">This plugin has no README.</p>}
          </Section>
          {page.components ? (
            <Section title="What it brings" description="Hooks and MCP servers run code or connect out from your laptop: read them before installing.">
              <dl className="space-y-3 text-sm">
                {page.components.hooks.length ? (
                  <div>
                    <dt className="font-medium text-amber-800">Hooks</dt>
                    {page.components.hooks.map((hook, index) => (
                      <dd key={index} className="mt-1 rounded bg-amber-50 px-2 py-1 font-mono text-xs text-amber-900">
                        {hook.event}
                        {hook.matcher ? ` (${hook.matcher})` : ''}: {hook.run}
                      </dd>
                    ))}
                  </div>
                ) : null}
                {page.components.mcpServers.length ? (
                  <div>
                    <dt className="font-medium text-amber-800">MCP servers</dt>
                    {page.components.mcpServers.map((server) => (
                      <dd key={server.name} className="mt-1 rounded bg-amber-50 px-2 py-1 font-mono text-xs text-amber-900">
                        {server.name} ({server.transport}): {server.target}
                      </dd>
                    ))}
                  </div>
                ) : null}
                {(['skills', 'commands', 'agents'] as const).map((kind) =>
                  page.components![kind].length ? (
                    <div key={kind}>
                      <dt className="font-medium capitalize text-slate-800">{kind}</dt>
                      {page.components![kind].map((item) => (
                        <dd key={item.path} className="mt-1 text-slate-700">
                          <span className="font-mono text-xs">{item.name}</span>
                          {item.description ? ` — ${item.description}` : ''}
                        </dd>
                      ))}
                    </div>
                  ) : null,
                )}
              </dl>
            </Section>
          ) : null}
          <Section title="Files">
            <PluginFilesTable rows={page.files.map((file) => ({ path: file.path, size: file.size, sha256: file.sha256 }))} />
          </Section>
          <Section title="Versions and changelog">
            <ol className="space-y-3">
              {page.versions.map((version) => (
                <li key={version.id} className="rounded-md border border-slate-200 p-3">
                  <div className="flex flex-wrap items-center gap-2">
                    <span className="font-mono text-sm font-semibold">{version.version}</span>
                    <Badge tone={STATUS_TONES[version.status] ?? 'slate'}>{version.status}</Badge>
                    <SignatureBadge signature={version.signature} />
                    <span className="text-xs text-slate-500">
                      {version.createdAt.toISOString().slice(0, 10)} by {version.author}
                    </span>
                  </div>
                  {version.changelog ? <p className="mt-2 whitespace-pre-wrap text-sm text-slate-700">{version.changelog}</p> : null}
                  {version.reviewComment ? (
                    <p className="mt-1 text-xs text-slate-600">
                      Review{version.reviewedBy ? ` by ${version.reviewedBy}` : ''}: {version.reviewComment}
                    </p>
                  ) : null}
                  {version.withdrawnReason ? <p className="mt-1 text-xs text-rose-700">Withdrawn: {version.withdrawnReason}</p> : null}
                  {(page.canReview || isOwner) && version.status === 'approved' ? (
                    <div className="mt-2">
                      <ActionForm action={withdrawAction} label={`Withdraw ${version.version}`} submitLabel="Withdraw" tone="danger" inline confirm="Devices remove it at their next sync.">
                        <Hidden name="name" value={page.name} />
                        <Hidden name="version" value={version.version} />
                        <input aria-label={`Reason to withdraw ${version.version}`} name="reason" required placeholder="Reason (shown here, recorded)" className={`${INPUT} max-w-sm`} />
                      </ActionForm>
                    </div>
                  ) : null}
                </li>
              ))}
            </ol>
          </Section>
          <Section title="Reviews">
            {!isOwner && page.status === 'active' && current?.status === 'approved' ? (
              <div className="mb-5">
                <ActionForm action={rateAction} label="Your review" submitLabel={page.viewerRating ? 'Update review' : 'Post review'}>
                  <Hidden name="name" value={page.name} />
                  <SelectField label="Stars" name="stars" defaultValue={String(page.viewerRating?.stars ?? 5)} options={[5, 4, 3, 2, 1].map((stars) => ({ value: String(stars), label: `${stars} star${stars === 1 ? '' : 's'}` }))} />
                  <label className="block space-y-1.5">
                    <span className={LABEL}>Review</span>
                    <textarea aria-label="Review" name="body" rows={3} defaultValue={page.viewerRating?.body ?? ''} className={INPUT} />
                  </label>
                </ActionForm>
              </div>
            ) : null}
            {page.ratings.length === 0 ? <p className="text-sm text-slate-500">No reviews yet.</p> : null}
            <ul className="space-y-4">
              {page.ratings.map((rating) => (
                <li key={rating.id} aria-label={`Review by ${rating.author}`} className={`rounded-md border p-3 ${rating.hidden ? 'border-dashed border-slate-300 opacity-70' : 'border-slate-200'}`}>
                  <div className="flex flex-wrap items-center gap-2">
                    <Stars value={rating.stars} />
                    <span className="text-sm font-medium text-slate-800">{rating.author}</span>
                    <span className="text-xs text-slate-500">{rating.updatedAt.toISOString().slice(0, 10)}</span>
                    {rating.hidden ? <Badge tone="red">hidden</Badge> : null}
                  </div>
                  {rating.body ? <p className="mt-1 whitespace-pre-wrap text-sm text-slate-700">{rating.body}</p> : null}
                  {rating.reply ? <p className="mt-2 border-l-2 border-indigo-200 pl-3 text-sm text-slate-700">Author’s reply: {rating.reply}</p> : null}
                  <div className="mt-2 flex flex-wrap gap-3">
                    {isOwner ? (
                      <ActionForm action={replyAction} label={`Reply to ${rating.author}`} submitLabel="Reply" tone="secondary" inline>
                        <Hidden name="name" value={page.name} />
                        <Hidden name="ratingId" value={rating.id} />
                        <input aria-label={`Reply to ${rating.author}`} name="reply" defaultValue={rating.reply ?? ''} className={`${INPUT} max-w-sm`} />
                      </ActionForm>
                    ) : null}
                    {page.canReview ? (
                      <ActionForm action={hideAction} label={`${rating.hidden ? 'Show' : 'Hide'} review by ${rating.author}`} submitLabel={rating.hidden ? 'Show' : 'Hide'} tone="secondary" inline>
                        <Hidden name="name" value={page.name} />
                        <Hidden name="ratingId" value={rating.id} />
                        <Hidden name="hidden" value={String(!rating.hidden)} />
                      </ActionForm>
                    ) : null}
                  </div>
                </li>
              ))}
            </ul>
          </Section>
        </div>
        <div className="space-y-6">
          {page.status === 'active' && current?.status === 'approved' ? (
            <Section title="Install">
              {page.entitledToViewer ? (
                <p className="text-sm text-emerald-800">Installed for you: it is in your entitled set and reaches your devices at the next sync.</p>
              ) : page.pendingRequest ? (
                <p className="text-sm text-slate-700">Your request is waiting for a reviewer.</p>
              ) : (
                <ActionForm action={installAction} label="Install plugin" submitLabel={page.selfInstall ? 'Install' : 'Request install'}>
                  <Hidden name="name" value={page.name} />
                  {page.selfInstall ? (
                    <p className="text-sm text-slate-600">Adds it to your entitled set. Claude receives it through gatehouse-sync or your marketplace URL.</p>
                  ) : (
                    <TextField label="Why you need it" name="reason" hint="A reviewer decides; the request appears in the review queue." />
                  )}
                </ActionForm>
              )}
            </Section>
          ) : null}
          {page.canPublish && current?.status === 'approved' && page.status === 'active' ? (
            <Section title="Fork" description="Copies this version into a new plugin of yours, linked back to this one. It goes through review like any new plugin.">
              <ActionForm action={forkAction} label="Fork plugin" submitLabel="Fork and submit">
                <Hidden name="versionId" value={current.id} />
                <TextField label="New plugin name" name="newName" required defaultValue={`${page.name}-${user.email.split('@')[0]!.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`} />
              </ActionForm>
            </Section>
          ) : null}
          {page.canReview ? (
            <Section title="Who gets it" description="Entitled users receive the newest approved version on their devices.">
              <ul className="mb-4 space-y-1 text-sm">
                {page.entitlements.length === 0 ? <li className="text-slate-500">Nobody yet.</li> : null}
                {page.entitlements.map((entry) => (
                  <li key={entry.label} className="text-slate-700">
                    {entry.label}
                  </li>
                ))}
              </ul>
              <ActionForm action={entitleAction} label="Entitle" submitLabel="Entitle">
                <Hidden name="name" value={page.name} />
                <SelectField label="Who" name="kind" defaultValue="department" options={[{ value: 'department', label: 'Department (slug)' }, { value: 'role', label: 'Role' }, { value: 'user', label: 'User (email)' }, { value: 'everyone', label: 'Everyone' }]} />
                <TextField label="Department, role or email" name="value" />
              </ActionForm>
              {page.status === 'active' ? (
                <div className="mt-4 border-t border-slate-100 pt-4">
                  <ActionForm action={revokeAction} label="Revoke plugin" submitLabel="Revoke plugin" tone="danger" confirm="Every version leaves every device.">
                    <Hidden name="name" value={page.name} />
                    <TextField label="Reason to revoke" name="reason" required />
                  </ActionForm>
                </div>
              ) : null}
            </Section>
          ) : null}
        </div>
      </div>
    </>
  );
}
