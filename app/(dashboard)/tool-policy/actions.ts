'use server';

import { revalidatePath } from 'next/cache';
import type { ActionState } from '@/lib/admin/action-state';
import { runDashboardAction } from '@/lib/admin/run-action';
import { createToolPolicyRule, deleteToolPolicyRule, explainToolDecision, setToolPolicyRuleEnabled, updateToolPolicyRule } from '@/lib/tool-policy';
import { policyTestFromForm, ruleFromForm } from '@/lib/tool-policy/form';
import { policyTestView, type PolicyTestState } from '@/components/tool-policy/test-view';

function ruleId(form: FormData): string {
  return String(form.get('ruleId') ?? '').trim();
}

export async function saveRuleAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const id = ruleId(form);
    const rule = id ? await updateToolPolicyRule(actor, id, ruleFromForm(form)) : await createToolPolicyRule(actor, ruleFromForm(form));
    revalidatePath('/tool-policy');
    return { status: 'success', message: `${id ? 'Saved' : 'Added'} the rule: ${rule.decision} ${rule.server}/${rule.tool}. The proxy and the hooks apply it within 5 seconds.` };
  });
}

export async function setRuleEnabledAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const enabled = form.get('enabled') === 'true';
    const rule = await setToolPolicyRuleEnabled(actor, ruleId(form), enabled);
    revalidatePath('/tool-policy');
    return { status: 'success', message: `${enabled ? 'Enabled' : 'Disabled'} ${rule.server}/${rule.tool}.` };
  });
}

export async function deleteRuleAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const rule = await deleteToolPolicyRule(actor, ruleId(form));
    revalidatePath('/tool-policy');
    return { status: 'success', message: `Removed ${rule.server}/${rule.tool}.` };
  });
}

export async function testPolicyAction(_previous: PolicyTestState, form: FormData): Promise<PolicyTestState> {
  return runDashboardAction<PolicyTestState>(async (actor) => ({ status: 'done', result: policyTestView(await explainToolDecision(actor, policyTestFromForm(form))) }));
}
