import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/admin/ActionForm';
import { CheckboxField, SelectField, TextField } from '@/components/admin/fields';
import { Section } from '@/components/admin/Section';
import { INPUT, LABEL } from '@/components/admin/styles';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { Badge } from '@/components/table/Badge';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { dashboardPluginActor } from '@/lib/plugins/dashboard';
import { skillChoices } from '@/lib/plugins/from-skills';
import { CATEGORIES } from '@/lib/plugins/lifecycle';
import { UPLOAD_LIMITS } from '@/lib/plugins/limits';
import { ownPlugins } from '@/lib/plugins/marketplace';
import { holdsAnywhere } from '@/lib/rbac/authorize';
import { publishAction } from '../actions';

export const metadata: Metadata = { title: 'Publish a plugin' };

const CATEGORY_OPTIONS = [{ value: '', label: 'From plugin.json (or other)' }, ...CATEGORIES.map((category) => ({ value: category, label: category.charAt(0).toUpperCase() + category.slice(1) }))];

function Changelog() {
  return (
    <label className="block space-y-1.5">
      <span className={LABEL}>Changelog</span>
      <textarea aria-label="Changelog" name="changelog" rows={3} placeholder="What changed in this version" className={INPUT} />
    </label>
  );
}

export default async function PublishPage() {
  const user = await requireDashboardUser('/plugins/publish');
  if (!(await holdsAnywhere(dashboardPrincipal(user), 'plugins.publish'))) return <AccessDenied permission="plugins.publish" tenantWide={false} />;
  const actor = dashboardPluginActor(user);
  const [mine, skills] = await Promise.all([ownPlugins(actor), skillChoices(actor).catch(() => [])]);
  const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

  return (
    <>
      <PageHeader
        title="Publish a plugin"
        description={`A Claude plugin: .claude-plugin/plugin.json (name, version, description) with skills/, commands/, agents/, hooks/hooks.json or .mcp.json. Up to ${UPLOAD_LIMITS.maxFiles} files, ${mb(UPLOAD_LIMITS.maxFileBytes)} each, ${mb(UPLOAD_LIMITS.maxTotalBytes)} in all. It is checked now and goes to a reviewer; once approved it is signed and can be installed.`}
      >
        <Link href="/marketplace" className="text-sm font-medium text-indigo-700 hover:underline">
          ← Marketplace
        </Link>
      </PageHeader>
      <div className="grid gap-6 lg:grid-cols-2">
        <Section title="Upload a ZIP" description="A new version needs a higher version number in plugin.json; published versions never change.">
          <ActionForm action={publishAction} label="Upload a ZIP" submitLabel="Validate and submit" pendingLabel="Checking…">
            <label className="block space-y-1.5">
              <span className={LABEL}>Plugin archive (.zip)</span>
              <input aria-label="Plugin archive" type="file" name="archive" accept=".zip,application/zip" required className="block w-full text-sm" />
            </label>
            <SelectField label="Category" name="category" options={CATEGORY_OPTIONS} />
            <Changelog />
          </ActionForm>
        </Section>
        <Section title="Upload a folder" description="Choose the plugin’s folder (the one holding .claude-plugin/).">
          <ActionForm action={publishAction} label="Upload a folder" submitLabel="Validate and submit" pendingLabel="Checking…">
            <label className="block space-y-1.5">
              <span className={LABEL}>Plugin folder</span>
              {/* webkitdirectory: the browser sends each file with its path inside the folder. */}
              <input aria-label="Plugin folder" type="file" name="files" multiple required className="block w-full text-sm" {...{ webkitdirectory: '' }} />
            </label>
            <SelectField label="Category" name="category" options={CATEGORY_OPTIONS} />
            <Changelog />
          </ActionForm>
        </Section>
        <Section title="Assemble from your skills" description="Bundles skills you own into a plugin.">
          {skills.length === 0 ? (
            <p className="text-sm text-slate-600">You have no skills of your own yet.</p>
          ) : (
            <ActionForm action={publishAction} label="Assemble from skills" submitLabel="Assemble and submit">
              <fieldset className="space-y-2">
                <legend className={LABEL}>Skills</legend>
                {skills.map((skill) => (
                  <CheckboxField key={skill.id} name="skills" value={skill.id} label={skill.name} hint={skill.description} />
                ))}
              </fieldset>
              <TextField label="Plugin name" name="name" required placeholder="team-toolkit" />
              <TextField label="Version" name="version" defaultValue="1.0.0" />
              <TextField label="Description" name="description" required />
              <SelectField label="Category" name="category" options={CATEGORY_OPTIONS} />
              <Changelog />
            </ActionForm>
          )}
        </Section>
        <Section title="Your plugins">
          {mine.length === 0 ? <p className="text-sm text-slate-600">Nothing published yet.</p> : null}
          <ul className="space-y-3">
            {mine.map((plugin) => (
              <li key={plugin.name}>
                <Link href={`/plugins/${plugin.name}`} className="font-medium text-indigo-700 hover:underline">
                  {plugin.name}
                </Link>
                {plugin.status === 'revoked' ? <Badge tone="red">revoked</Badge> : null}
                <ul className="mt-1 flex flex-wrap gap-1.5">
                  {plugin.versions.map((version) => (
                    <li key={version.version}>
                      <Badge tone={version.status === 'approved' ? 'green' : version.status === 'pending' ? 'amber' : 'red'}>
                        {version.version} {version.status}
                      </Badge>
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </Section>
      </div>
    </>
  );
}
