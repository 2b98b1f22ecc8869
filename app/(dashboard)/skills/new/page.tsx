import type { Metadata } from 'next';
import Link from 'next/link';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { SkillEditor } from '@/components/skills/SkillEditor';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { holdsAnywhere } from '@/lib/rbac/authorize';
import { serialiseSkillMarkdown } from '@/lib/skills';
import { createSkillAction } from '../actions';

export const metadata: Metadata = { title: 'New skill' };

const TEMPLATE = serialiseSkillMarkdown(
  {
    name: 'my-skill',
    description: 'What this skill does and when Claude should use it.',
    arguments: [{ name: 'topic', description: 'What to work on', required: false }],
  },
  '# My skill\n\nInstructions for Claude. Use $topic where the argument should go.\n',
);

export default async function NewSkillPage() {
  const user = await requireDashboardUser('/skills/new');
  if (!(await holdsAnywhere(dashboardPrincipal(user), 'skills.write'))) return <AccessDenied permission="skills.write" tenantWide={false} />;
  return (
    <>
      <PageHeader title="New skill" description="Write the frontmatter (name and description at least) and the instructions. The name becomes the / command: lower-case letters, digits and hyphens.">
        <Link href="/skills" className="text-sm text-slate-600 underline">
          Back to skills
        </Link>
      </PageHeader>
      <SkillEditor action={createSkillAction} label="New skill" submitLabel="Create skill" initialContent={TEMPLATE} />
    </>
  );
}
