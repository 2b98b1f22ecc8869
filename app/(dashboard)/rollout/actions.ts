'use server';

import { revalidatePath } from 'next/cache';
import type { ActionState } from '@/lib/admin/action-state';
import { runDashboardAction } from '@/lib/admin/run-action';
import { updateRolloutSettings } from '@/lib/mdm/admin';
import { MdmError } from '@/lib/mdm/errors';

function text(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}

export async function saveRolloutSettingsAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    let extraDesktopKeys: unknown = {};
    const extra = text(form, 'extraDesktopKeys').trim();
    if (extra) {
      try {
        extraDesktopKeys = JSON.parse(extra);
      } catch {
        throw new MdmError('other Desktop keys must be a JSON object, e.g. {"mcpToolTimeoutSec": 600}');
      }
    }
    const { version, changed } = await updateRolloutSettings(
      actor,
      {
        gatewayUrl: text(form, 'gatewayUrl'),
        claudeCodeSignIn: text(form, 'claudeCodeSignIn'),
        claudeCodeGovernanceHooks: text(form, 'claudeCodeGovernanceHooks'),
        helperPath: text(form, 'helperPath'),
        helperPathWindows: text(form, 'helperPathWindows'),
        nodePath: text(form, 'nodePath'),
        nodePathWindows: text(form, 'nodePathWindows'),
        organizationInstructions: text(form, 'organizationInstructions'),
        extensionSigningCaPem: text(form, 'extensionSigningCaPem'),
        extraDesktopKeys,
      },
      Number(text(form, 'version')),
    );
    revalidatePath('/rollout');
    return { status: 'success', message: changed.length ? `Saved as version ${version}. Download the profiles again to roll the change out.` : `Saved as version ${version} (nothing changed).` };
  });
}
