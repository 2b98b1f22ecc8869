import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { z } from 'zod';
import { ActionForm } from '@/components/admin/ActionForm';
import { Hidden, SelectField, TextField } from '@/components/admin/fields';
import { Section } from '@/components/admin/Section';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { Badge } from '@/components/table/Badge';
import { BindingsTable } from '@/components/users/BindingsTable';
import { SessionsTable } from '@/components/users/SessionsTable';
import { departmentOptions } from '@/lib/admin/departments';
import { defaultRoleId, roleOptions } from '@/lib/admin/roles';
import { dashboardActor } from '@/lib/admin/run-action';
import { listManagedSessions } from '@/lib/admin/sessions';
import { getManagedUser, type ManagedUserDetail } from '@/lib/admin/users';
import { requireDashboardUser } from '@/lib/auth/session';
import { ssoSignInOptions } from '@/lib/auth/sso-config';
import { formatUtcTimestamp } from '@/lib/dashboard/format';
import { ForbiddenError } from '@/lib/rbac/errors';
import { UserInputError } from '@/lib/users/tenant';
import { addBindingAction, removeBindingAction, revokeAllSessionsAction, revokeSessionAction, setUserStatusAction, updateUserAction } from '../actions';

export const metadata: Metadata = { title: 'User' };

interface UserPageProps {
  params: Promise<{ id: string }>;
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</dt>
      <dd className="mt-1 text-sm text-slate-900">{children}</dd>
    </div>
  );
}

/**
 * How this user can sign in. Single sign-on reaches an account only through a bound IdP account,
 * or, for an account with no password and none bound yet, by binding at its first SSO sign-in.
 */
function signInMethods(detail: ManagedUserDetail, ssoConfigured: boolean): string {
  if (detail.hasPassword) {
    if (detail.ssoIdentities > 0) return 'Password or SSO';
    return ssoConfigured ? 'Password (SSO after an administrator links it: gatehouse users link-sso)' : 'Password';
  }
  if (detail.ssoIdentities > 0) return 'SSO only';
  return ssoConfigured ? 'SSO only (bound at the first SSO sign-in)' : 'SSO only (no SSO provider is configured: set a password or add one)';
}

function StatusBadges({ detail }: { detail: ManagedUserDetail }) {
  return (
    <span className="flex gap-1">
      <Badge tone={detail.status === 'active' ? 'green' : 'slate'}>{detail.status}</Badge>
      <Badge tone="indigo">{detail.hasPassword ? 'password' : 'SSO only'}</Badge>
    </span>
  );
}

export default async function UserPage({ params }: UserPageProps) {
  const { id } = await params;
  const viewer = await requireDashboardUser(`/users/${id}`);
  if (!z.guid().safeParse(id).success) notFound();
  const actor = dashboardActor(viewer);

  let detail: ManagedUserDetail;
  try {
    detail = await getManagedUser(actor, id);
  } catch (error) {
    if (error instanceof ForbiddenError) return <AccessDenied permission="users.read" tenantWide={false} />;
    if (error instanceof UserInputError) notFound();
    throw error;
  }
  const [sessions, departments, roles] = await Promise.all([
    listManagedSessions(actor, id),
    departmentOptions(viewer.tenantId),
    detail.canManageBindings ? roleOptions(viewer.tenantId) : Promise.resolve([]),
  ]);
  const departmentChoices = [{ value: '', label: 'No department' }, ...departments.map((d) => ({ value: d.id, label: d.name }))];
  const activeSessions = sessions.filter((session) => session.status === 'active').length;
  const isSelf = detail.id === viewer.id;

  return (
    <>
      <Link href="/users" className="text-sm font-medium text-slate-600 underline-offset-2 hover:underline">
        ← All users
      </Link>
      <PageHeader title={detail.name} description={detail.email}>
        <StatusBadges detail={detail} />
      </PageHeader>
      {/* grid-cols-1 sizes the track minmax(0, 1fr): without it a wide table would widen the page on phones. */}
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
        <Section title="Profile">
          <dl className="mb-5 grid grid-cols-2 gap-4">
            <Fact label="Department">{detail.department ?? '—'}</Fact>
            <Fact label="Last sign-in">{detail.lastSignInAt ? formatUtcTimestamp(detail.lastSignInAt) : 'never'}</Fact>
            <Fact label="Last active">{detail.lastActiveAt ? formatUtcTimestamp(detail.lastActiveAt) : 'never'}</Fact>
            <Fact label="Created">{formatUtcTimestamp(detail.createdAt)}</Fact>
            <Fact label="Sign-in">{signInMethods(detail, ssoSignInOptions().length > 0)}</Fact>
          </dl>
          {detail.canManage ? (
            <ActionForm action={updateUserAction} label="Edit profile" submitLabel="Save profile" pendingLabel="Saving…">
              <Hidden name="userId" value={detail.id} />
              <div className="grid gap-4 sm:grid-cols-2">
                <TextField label="Name" name="name" defaultValue={detail.name} required />
                <SelectField label="Department" name="departmentId" defaultValue={detail.departmentId ?? ''} options={departmentChoices} />
              </div>
            </ActionForm>
          ) : null}
        </Section>

        <Section
          title="Account"
          description={
            detail.status === 'active'
              ? 'Disabling signs the user out everywhere: refresh fails at once and access tokens stop within seconds.'
              : 'Disabled: the user cannot sign in, with a password or with SSO.'
          }
        >
          {!detail.canManage ? (
            <p className="text-sm text-slate-600">You can see this account but not change it.</p>
          ) : isSelf ? (
            <p className="text-sm text-slate-600">This is your own account; another administrator has to disable it.</p>
          ) : detail.status === 'active' ? (
            <ActionForm action={setUserStatusAction} label="Disable account" submitLabel="Disable account" tone="danger" confirm="Sign them out everywhere and block sign-in?">
              <Hidden name="userId" value={detail.id} />
              <Hidden name="status" value="disabled" />
            </ActionForm>
          ) : (
            <ActionForm action={setUserStatusAction} label="Enable account" submitLabel="Enable account">
              <Hidden name="userId" value={detail.id} />
              <Hidden name="status" value="active" />
            </ActionForm>
          )}
        </Section>

        <div className="lg:col-span-2">
          <Section title="Roles" description="What this user may do. A role limited to a department grants its permissions only for that department’s resources.">
            <div className="space-y-5">
              <BindingsTable userId={detail.id} bindings={detail.bindings} removeAction={detail.canManageBindings ? removeBindingAction : undefined} />
              {detail.canManageBindings ? (
                <ActionForm action={addBindingAction} label="Grant role" submitLabel="Grant role" inline>
                  <Hidden name="userId" value={detail.id} />
                  <SelectField label="Role" name="roleId" defaultValue={defaultRoleId(roles)} options={roles.map((role) => ({ value: role.id, label: role.name }))} />
                  <SelectField label="Applies" name="departmentId" options={[{ value: '', label: 'Everywhere' }, ...departments.map((d) => ({ value: d.id, label: `Only in ${d.name}` }))]} />
                </ActionForm>
              ) : null}
            </div>
          </Section>
        </div>

        <div className="lg:col-span-2">
          <Section
            title="Sessions"
            description={`Sign-ins from Claude Code, Cowork and other OAuth clients: ${activeSessions} active. Revoking one ends it at its next refresh and its access tokens within seconds.`}
            actions={
              detail.canManage && activeSessions > 0 ? (
                <ActionForm action={revokeAllSessionsAction} label="Revoke all sessions" submitLabel="Revoke all" tone="danger" confirm="End every sign-in of this user?">
                  <Hidden name="userId" value={detail.id} />
                </ActionForm>
              ) : null
            }
          >
            <SessionsTable userId={detail.id} sessions={sessions} revokeAction={detail.canManage ? revokeSessionAction : undefined} />
          </Section>
        </div>
      </div>
    </>
  );
}
