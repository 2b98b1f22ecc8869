'use server';

import { revalidatePath } from 'next/cache';
import type { ActionState } from '@/lib/admin/action-state';
import { runDashboardAction } from '@/lib/admin/run-action';
import { approveVersion, checkServer, registerServer, rejectVersion, revokeServer, saveEditedScope } from '@/lib/mcp/registry';
import { registrationFromForm, scopeFromForm, shownUsersFromForm } from '@/lib/mcp/registry/form';

function field(form: FormData, name: string): string {
  return String(form.get(name) ?? '').trim();
}

function versionOf(form: FormData): number | undefined {
  const version = Number(field(form, 'version'));
  return Number.isSafeInteger(version) && version > 0 ? version : undefined;
}

export async function registerServerAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const server = await registerServer(actor, registrationFromForm(form));
    revalidatePath('/mcp-servers');
    const check = server.lastCheck;
    const tools = server.approvedVersion?.tools.length ?? 0;
    if (server.transport === 'stdio') return { status: 'success', message: `Registered ${server.name} (run on devices) with ${tools} declared tool(s).` };
    if (check && !check.ok) return { status: 'success', message: `Registered ${server.name}, but its health check failed (${check.error ?? 'no answer'}): no client sees it until a check succeeds and you approve its tools.` };
    return { status: 'success', message: `Registered ${server.name}: ${tools} tool(s) found and approved.` };
  });
}

export async function checkServerAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const outcome = await checkServer(actor, field(form, 'name'));
    revalidatePath('/mcp-servers');
    const name = outcome.server.name;
    switch (outcome.result) {
      case 'failed':
        return { status: 'error', message: `${name}: the check failed (${outcome.error ?? 'no answer'}).` };
      case 'drift':
        return { status: 'success', message: `${name}: the tools changed; version ${outcome.drift?.version} waits for your approval.` };
      case 'pending':
        return { status: 'success', message: `${name}: the same changed tool list still waits for approval.` };
      case 'unchanged':
        return { status: 'success', message: `${name}: healthy, ${outcome.tools} tool(s), unchanged (${outcome.latencyMs} ms).` };
    }
  });
}

export async function approveVersionAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const server = await approveVersion(actor, field(form, 'name'), versionOf(form), field(form, 'comment'));
    revalidatePath('/mcp-servers');
    return { status: 'success', message: `${server.name}: version ${server.approvedVersion?.version} approved; clients get it at their next poll.` };
  });
}

export async function rejectVersionAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const server = await rejectVersion(actor, field(form, 'name'), versionOf(form), field(form, 'comment'));
    revalidatePath('/mcp-servers');
    return { status: 'success', message: `${server.name}: the changed tool list was rejected; clients keep version ${server.approvedVersion?.version ?? '—'}.` };
  });
}

export async function revokeServerAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const server = await revokeServer(actor, field(form, 'name'), field(form, 'reason'));
    revalidatePath('/mcp-servers');
    return { status: 'success', message: `Revoked ${server.name}: it leaves every allowlist and the proxy refuses it.` };
  });
}

/**
 * The scope editor: the same change as `gatehouse mcp scope` (audited, allowlist sequence bumped,
 * an empty scope refused), except that people it showed who were deleted or deactivated since are
 * dropped and named instead of failing the save.
 */
export async function updateScopeAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const { server, dropped } = await saveEditedScope(actor, field(form, 'name'), scopeFromForm(form), shownUsersFromForm(form));
    revalidatePath('/mcp-servers');
    const scope = server.scope.map((entry) => entry.label).join(', ');
    const left = dropped.length ? ` Dropped, as they name nobody any more: ${dropped.join(', ')}.` : '';
    return { status: 'success', message: `${server.name} is now for ${scope}; clients converge at their next allowlist poll.${left}` };
  });
}
