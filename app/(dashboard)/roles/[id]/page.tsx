import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { z } from 'zod';
import { ActionForm } from '@/components/admin/ActionForm';
import { Hidden, TextField } from '@/components/admin/fields';
import { Section } from '@/components/admin/Section';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { PermissionCheckboxes } from '@/components/roles/PermissionCheckboxes';
import { Badge } from '@/components/table/Badge';
import { getRole, type RoleRow } from '@/lib/admin/roles';
import { dashboardActor } from '@/lib/admin/run-action';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { authorize } from '@/lib/rbac/authorize';
import { ForbiddenError } from '@/lib/rbac/errors';
import { PERMISSION_DESCRIPTIONS } from '@/lib/rbac/permissions';
import { UserInputError } from '@/lib/users/tenant';
import { deleteRoleAction, updateRoleAction } from '../actions';

export const metadata: Metadata = { title: 'Role' };

interface RolePageProps {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

function ReadOnlyPermissions({ role }: { role: RoleRow }) {
  return (
    <ul className="grid gap-3 sm:grid-cols-2">
      {role.permissions.map((permission) => (
        <li key={permission} className="text-sm">
          <code className="font-mono text-xs text-slate-900">{permission}</code>
          <span className="block text-xs text-slate-500">{PERMISSION_DESCRIPTIONS[permission]}</span>
        </li>
      ))}
    </ul>
  );
}

export default async function RolePage({ params, searchParams }: RolePageProps) {
  const { id } = await params;
  const user = await requireDashboardUser(`/roles/${id}`);
  if (!z.guid().safeParse(id).success) notFound();
  let role: RoleRow;
  try {
    role = await getRole(dashboardActor(user), id);
  } catch (error) {
    if (error instanceof ForbiddenError) return <AccessDenied permission="users.read" tenantWide={false} />;
    if (error instanceof UserInputError) notFound();
    throw error;
  }
  const canEdit = !role.builtIn && (await authorize(dashboardPrincipal(user), 'users.admin'));
  const justCreated = (await searchParams).created === '1';

  return (
    <>
      <Link href="/roles" className="text-sm font-medium text-slate-600 underline-offset-2 hover:underline">
        ← All roles
      </Link>
      <PageHeader title={role.name} description={`${role.bindings} ${role.bindings === 1 ? 'holder' : 'holders'}. ${role.builtIn ? 'Built-in roles are read-only.' : ''}`}>
        <Badge tone={role.builtIn ? 'slate' : 'indigo'}>{role.builtIn ? 'built-in' : 'custom'}</Badge>
      </PageHeader>
      {justCreated ? (
        <p role="status" className="mb-6 rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">
          Created {role.name}. Grant it to people on their user page.
        </p>
      ) : null}
      <div className="space-y-6">
        <Section title="Definition" description={role.description || undefined}>
          {canEdit ? (
            <ActionForm action={updateRoleAction} label="Edit role" submitLabel="Save role" pendingLabel="Saving…">
              <Hidden name="roleId" value={role.id} />
              <TextField label="Description" name="description" defaultValue={role.description} />
              <PermissionCheckboxes checked={role.permissions} />
            </ActionForm>
          ) : (
            <ReadOnlyPermissions role={role} />
          )}
        </Section>
        {canEdit ? (
          <Section title="Delete role" description={role.bindings > 0 ? `Deleting it also takes it away from its ${role.bindings} ${role.bindings === 1 ? 'holder' : 'holders'}.` : 'Nobody holds it.'}>
            <ActionForm action={deleteRoleAction} label="Delete role" submitLabel="Delete role" tone="danger" confirm={`Delete ${role.name} for good?`}>
              <Hidden name="roleId" value={role.id} />
            </ActionForm>
          </Section>
        ) : null}
      </div>
    </>
  );
}
