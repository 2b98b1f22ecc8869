import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { ActionForm } from '@/components/admin/ActionForm';
import { Hidden, SelectField } from '@/components/admin/fields';
import { Section } from '@/components/admin/Section';
import { SECONDARY_BUTTON } from '@/components/admin/styles';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { SkillEditor } from '@/components/skills/SkillEditor';
import { sharingLabel } from '@/components/skills/sharing-label';
import { VersionDiff } from '@/components/skills/VersionDiff';
import { Badge } from '@/components/table/Badge';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { formatUtcTimestamp } from '@/lib/dashboard/format';
import { holdsAnywhere } from '@/lib/rbac/authorize';
import { dashboardSkillActor, getOwnSkill, getViewableSkill, shareTargets, skillHistory, skillVersion, type OwnSkill, type SkillActor, type VisibleSkill } from '@/lib/skills';
import { renderSkillMarkdown } from '@/lib/skills/markdown';
import { UserInputError } from '@/lib/users/tenant';
import { deleteSkillAction, restoreDeletedSkillAction, restoreVersionAction, saveSkillAction, shareSkillAction } from '../actions';

export const metadata: Metadata = { title: 'Skill' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SOURCES: Record<string, string> = { editor: 'Edited', import: 'Imported', cli: 'Imported (CLI)', restore: 'Restored' };

/** The skill as the user may see it: their own (deleted too), or one shared with them; else null. */
async function loadSkill(actor: SkillActor, id: string): Promise<VisibleSkill | OwnSkill | null> {
  const visible = await getViewableSkill(actor, id);
  if (visible && !visible.own) return visible;
  try {
    return await getOwnSkill(actor, id);
  } catch (error) {
    if (error instanceof UserInputError) return null;
    throw error;
  }
}

function isOwn(skill: VisibleSkill | OwnSkill): skill is OwnSkill {
  return skill.own && 'deletedAt' in skill;
}

function FilesList({ skill }: { skill: VisibleSkill }) {
  if (skill.files.length === 0) return null;
  return (
    <Section title="Files" description="Extra files that come with the skill (templates, examples). Add or change them by importing the skill folder as a zip.">
      <ul className="space-y-1 font-mono text-sm">
        {skill.files.map((file) => (
          <li key={file.path}>
            {file.path} <span className="text-xs text-slate-500">({file.content.length} bytes)</span>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function SharedSkillView({ skill }: { skill: VisibleSkill }) {
  return (
    <>
      <PageHeader title={skill.name} description={skill.description}>
        <Link href="/skills?view=shared" className="text-sm text-slate-600 underline">
          Back to skills
        </Link>
      </PageHeader>
      <div className="space-y-6">
        <p className="text-sm text-slate-600">
          Shared by {skill.ownerName} ({skill.ownerEmail}) with <Badge tone="indigo">{sharingLabel(skill)}</Badge> · version {skill.version}, {formatUtcTimestamp(skill.updatedAt.toISOString())}. Only its owner can change it.
        </p>
        <Section title="Preview">
          <div className="skill-markdown" dangerouslySetInnerHTML={{ __html: renderSkillMarkdown(skill.body) }} />
        </Section>
        <Section title="SKILL.md">
          <pre className="overflow-x-auto rounded-md bg-slate-50 p-3 font-mono text-xs">{skill.content}</pre>
        </Section>
        <FilesList skill={skill} />
      </div>
    </>
  );
}

async function History({ actor, skill, diffVersion }: { actor: SkillActor; skill: OwnSkill; diffVersion: number | null }) {
  const versions = await skillHistory(actor, skill.id);
  const shown = diffVersion && versions.some((version) => version.version === diffVersion) ? diffVersion : null;
  const [after, before] = shown ? await Promise.all([skillVersion(actor, skill.id, shown), shown > 1 ? skillVersion(actor, skill.id, shown - 1) : null]) : [null, null];
  return (
    <Section title="History" description="Every save is kept. Restoring an old version saves it again as the newest; nothing is overwritten.">
      <table className="w-full text-left text-sm">
        <caption className="sr-only">Versions</caption>
        <thead className="text-xs uppercase text-slate-500">
          <tr>
            <th className="py-2 pr-3">Version</th>
            <th className="py-2 pr-3">Saved</th>
            <th className="py-2 pr-3">By</th>
            <th className="py-2 pr-3">How</th>
            <th className="py-2" />
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {versions.map((version) => (
            <tr key={version.id}>
              <td className="py-2 pr-3 tabular-nums">v{version.version}</td>
              <td className="py-2 pr-3">{formatUtcTimestamp(version.createdAt.toISOString())}</td>
              <td className="py-2 pr-3">{version.authorEmail ?? 'a removed user'}</td>
              <td className="py-2 pr-3">
                {SOURCES[version.source] ?? version.source}
                {version.restoredFrom ? ` from v${version.restoredFrom}` : ''}
              </td>
              <td className="py-2">
                <div className="flex flex-wrap items-center justify-end gap-2">
                  <Link href={`/skills/${skill.id}?diff=${version.version}#changes`} className="text-sm text-indigo-700 underline" aria-label={`Changes in version ${version.version}`}>
                    Changes
                  </Link>
                  {version.version !== skill.version && !skill.deletedAt ? (
                    <ActionForm action={restoreVersionAction} label={`Restore version ${version.version}`} submitLabel="Restore" tone="secondary" confirm={`Make version ${version.version} the current one?`} inline>
                      <Hidden name="skillId" value={skill.id} />
                      <Hidden name="version" value={String(version.version)} />
                    </ActionForm>
                  ) : null}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {after ? (
        <div id="changes" className="mt-4 space-y-2">
          <h3 className="text-sm font-semibold text-slate-900">{before ? `Changes from version ${before.version} to ${after.version}` : 'Version 1 (first save)'}</h3>
          <VersionDiff label={`Diff of version ${after.version}`} before={before?.content ?? ''} after={after.content} />
        </div>
      ) : null}
    </Section>
  );
}

async function ShareSettings({ actor, skill }: { actor: SkillActor; skill: OwnSkill }) {
  const targets = await shareTargets(actor);
  const current = skill.sharing === 'department' ? `department:${skill.departmentId}` : skill.sharing;
  const options = [
    { value: 'private', label: 'Only me' },
    ...targets.departments.map((department) => ({ value: `department:${department.id}`, label: `Department: ${department.name}` })),
    ...(targets.organisation ? [{ value: 'organisation', label: 'Everyone in the organisation' }] : []),
  ];
  // Keep the current setting selectable even when the user could no longer choose it.
  if (!options.some((option) => option.value === current)) options.push({ value: current, label: sharingLabel(skill) });
  return (
    <Section
      title="Sharing"
      description={
        targets.departments.length || targets.organisation
          ? 'People you share with see the skill in their list and as a / command in Claude; only you can change it.'
          : 'Sharing with others needs the plugins.publish permission (the author role) for a department or the organisation. Ask an administrator.'
      }
    >
      <ActionForm action={shareSkillAction} label="Sharing" submitLabel="Save sharing" tone="secondary" inline>
        <Hidden name="skillId" value={skill.id} />
        <div className="w-full max-w-sm">
          <SelectField label="Shared with" name="sharing" options={options} defaultValue={current} />
        </div>
      </ActionForm>
    </Section>
  );
}

export default async function SkillPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { id } = await params;
  const user = await requireDashboardUser(`/skills/${id}`);
  if (!(await holdsAnywhere(dashboardPrincipal(user), 'skills.read'))) return <AccessDenied permission="skills.read" tenantWide={false} />;
  if (!UUID.test(id)) notFound();
  const actor = dashboardSkillActor(user);
  const skill = await loadSkill(actor, id);
  if (!skill) notFound();
  if (!isOwn(skill)) return <SharedSkillView skill={skill} />;

  const query = await searchParams;
  const diffVersion = Number(Array.isArray(query.diff) ? query.diff[0] : query.diff) || null;
  const canWrite = await holdsAnywhere(dashboardPrincipal(user), 'skills.write');
  return (
    <>
      <PageHeader title={skill.name} description={skill.description}>
        <div className="flex flex-wrap items-center gap-2">
          <Badge tone={skill.sharing === 'private' ? 'slate' : 'indigo'}>{sharingLabel(skill)}</Badge>
          <Badge>v{skill.version}</Badge>
          <a href={`/skills/export?name=${encodeURIComponent(skill.name)}`} className={SECONDARY_BUTTON} download>
            Export (.zip)
          </a>
          <Link href="/skills" className="text-sm text-slate-600 underline">
            Back to skills
          </Link>
        </div>
      </PageHeader>
      <div className="space-y-6">
        {skill.deletedAt ? (
          <Section title="Deleted" description={`Deleted ${formatUtcTimestamp(skill.deletedAt.toISOString())}. Nobody can use it now; you can restore it until ${formatUtcTimestamp(skill.restorableUntil?.toISOString() ?? null)}.`}>
            <ActionForm action={restoreDeletedSkillAction} label="Restore skill" submitLabel="Restore skill">
              <Hidden name="skillId" value={skill.id} />
            </ActionForm>
          </Section>
        ) : canWrite ? (
          <SkillEditor action={saveSkillAction} label="Edit skill" submitLabel="Save" initialContent={skill.content} hidden={{ skillId: skill.id, baseVersion: String(skill.version) }} />
        ) : (
          <Section title="SKILL.md" description="Editing needs the skills.write permission.">
            <pre className="overflow-x-auto rounded-md bg-slate-50 p-3 font-mono text-xs">{skill.content}</pre>
          </Section>
        )}
        {!skill.deletedAt && canWrite ? <ShareSettings actor={actor} skill={skill} /> : null}
        <FilesList skill={skill} />
        <History actor={actor} skill={skill} diffVersion={diffVersion} />
        {!skill.deletedAt && canWrite ? (
          <Section title="Delete skill" description="It disappears for you and everyone you shared it with, and from Claude. You can restore it for 30 days.">
            <ActionForm action={deleteSkillAction} label="Delete skill" submitLabel="Delete skill" tone="danger" confirm="Delete this skill?">
              <Hidden name="skillId" value={skill.id} />
            </ActionForm>
          </Section>
        ) : null}
      </div>
    </>
  );
}
