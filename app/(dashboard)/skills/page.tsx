import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/admin/ActionForm';
import { Section } from '@/components/admin/Section';
import { INPUT, LABEL, PRIMARY_BUTTON, SECONDARY_BUTTON } from '@/components/admin/styles';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { SkillsTable, type SkillRow } from '@/components/skills/SkillsTable';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { holdsAnywhere } from '@/lib/rbac/authorize';
import { dashboardSkillActor, filterSkills, listOwnSkills, listSharedWithMe, parseSkillFilters, type OwnSkill, type VisibleSkill } from '@/lib/skills';
import { importSkillsAction } from './actions';

export const metadata: Metadata = { title: 'Skills' };

const VIEWS = [
  { id: 'mine', label: 'My skills' },
  { id: 'shared', label: 'Shared with me' },
  { id: 'deleted', label: 'Deleted' },
] as const;
type View = (typeof VIEWS)[number]['id'];

function row(skill: VisibleSkill | OwnSkill): SkillRow {
  return {
    id: skill.id,
    name: skill.name,
    description: skill.description,
    version: skill.version,
    sharing: skill.sharing,
    departmentName: skill.departmentName,
    owner: skill.ownerEmail,
    tags: skill.tags,
    updatedAt: skill.updatedAt.toISOString(),
    restorableUntil: 'restorableUntil' in skill && skill.restorableUntil ? skill.restorableUntil.toISOString() : null,
  };
}

export default async function SkillsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireDashboardUser('/skills');
  if (!(await holdsAnywhere(dashboardPrincipal(user), 'skills.read'))) return <AccessDenied permission="skills.read" tenantWide={false} />;
  const params = await searchParams;
  const view: View = VIEWS.some((candidate) => candidate.id === params.view) ? (params.view as View) : 'mine';
  const filters = parseSkillFilters(params);
  const actor = dashboardSkillActor(user);
  const [canWrite, skills] = await Promise.all([
    holdsAnywhere(dashboardPrincipal(user), 'skills.write'),
    view === 'shared' ? listSharedWithMe(actor) : listOwnSkills(actor, { deleted: view === 'deleted' }),
  ]);
  const shown = filterSkills<VisibleSkill>(skills, filters);
  const tags = [...new Set(skills.flatMap((skill) => skill.tags))].sort();
  const filtered = filters.query || filters.tag || filters.sharing !== 'any';

  return (
    <>
      <PageHeader
        title="Skills"
        description="Your skills are SKILL.md files: instructions Claude loads on demand, and the / commands you see in Claude once you connect. Share them with your department or the organisation; every save is kept as a version."
      >
        <div className="flex flex-wrap gap-2">
          <a href="/skills/export" className={SECONDARY_BUTTON} download>
            Export all (.zip)
          </a>
          <a href="/skills/plugin" className={SECONDARY_BUTTON} download>
            Download as plugin
          </a>
          {user.departmentSlug ? (
            <a href={`/skills/plugin?department=${encodeURIComponent(user.departmentSlug)}`} className={SECONDARY_BUTTON} download>
              Department plugin
            </a>
          ) : null}
          {canWrite ? (
            <Link href="/skills/new" className={PRIMARY_BUTTON}>
              New skill
            </Link>
          ) : null}
        </div>
      </PageHeader>
      <div className="space-y-6">
        <nav aria-label="Skill lists" className="flex flex-wrap gap-1 border-b border-slate-200">
          {VIEWS.map((candidate) => (
            <Link
              key={candidate.id}
              href={candidate.id === 'mine' ? '/skills' : `/skills?view=${candidate.id}`}
              aria-current={candidate.id === view ? 'page' : undefined}
              className={`-mb-px border-b-2 px-3 py-2 text-sm font-medium ${candidate.id === view ? 'border-indigo-600 text-indigo-700' : 'border-transparent text-slate-600 hover:text-slate-900'}`}
            >
              {candidate.label}
            </Link>
          ))}
        </nav>
        <form method="get" role="search" aria-label="Filter skills" className="flex flex-wrap items-end gap-3">
          {view !== 'mine' ? <input type="hidden" name="view" value={view} /> : null}
          <label className="block w-full max-w-xs space-y-1.5">
            <span className={LABEL}>Search</span>
            <input type="search" name="q" defaultValue={filters.query} placeholder="name, description, tag" className={INPUT} />
          </label>
          <label className="block space-y-1.5">
            <span className={LABEL}>Shared with</span>
            <select name="sharing" defaultValue={filters.sharing} className={INPUT}>
              <option value="any">Anyone</option>
              <option value="private">Only me</option>
              <option value="department">A department</option>
              <option value="organisation">Organisation</option>
            </select>
          </label>
          <label className="block space-y-1.5">
            <span className={LABEL}>Tag</span>
            <select name="tag" defaultValue={filters.tag} className={INPUT}>
              <option value="">Any tag</option>
              {tags.map((tag) => (
                <option key={tag} value={tag}>
                  {tag}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className={SECONDARY_BUTTON}>
            Filter
          </button>
          {filtered ? (
            <Link href={view === 'mine' ? '/skills' : `/skills?view=${view}`} className="text-sm text-slate-600 underline">
              Clear
            </Link>
          ) : null}
        </form>
        <SkillsTable
          rows={shown.map(row)}
          caption={VIEWS.find((candidate) => candidate.id === view)!.label}
          showOwner={view === 'shared'}
          deleted={view === 'deleted'}
          emptyMessage={
            filtered
              ? 'No skills match these filters.'
              : view === 'shared'
                ? 'Nobody has shared a skill with you yet.'
                : view === 'deleted'
                  ? 'No deleted skills. Deleted skills stay here for 30 days.'
                  : 'You have no skills yet: create one or import a SKILL.md.'
          }
        />
        {canWrite && view === 'mine' ? (
          <Section title="Import skills" description="A SKILL.md, a skill folder as .zip, or a .zip of many skill folders (such as an export). A skill with a name you already have becomes a new version of it.">
            <ActionForm action={importSkillsAction} label="Import skills" submitLabel="Import" pendingLabel="Importing…" resetOnSuccess inline>
              <label className="block space-y-1.5">
                <span className={LABEL}>File</span>
                <input type="file" name="file" accept=".md,.zip,text/markdown,application/zip" required className="block text-sm text-slate-700 file:mr-3 file:rounded-md file:border-0 file:bg-slate-100 file:px-3 file:py-2 file:text-sm file:font-medium" />
              </label>
            </ActionForm>
          </Section>
        ) : null}
      </div>
    </>
  );
}
