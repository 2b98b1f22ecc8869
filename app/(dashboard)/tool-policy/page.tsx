import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/admin/ActionForm';
import { Hidden } from '@/components/admin/fields';
import { Section } from '@/components/admin/Section';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { PolicyTestBox } from '@/components/tool-policy/PolicyTestBox';
import { PolicyTestFields, RuleFields, type RuleFieldOptions } from '@/components/tool-policy/RuleFields';
import { RulesTable, type RuleRow } from '@/components/tool-policy/RulesTable';
import { departmentOptions } from '@/lib/admin/departments';
import { roleOptions } from '@/lib/admin/roles';
import { dashboardActor } from '@/lib/admin/run-action';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { listServers } from '@/lib/mcp/registry/read';
import { authorize } from '@/lib/rbac/authorize';
import { listToolPolicyRules, TOOL_POLICY_PERMISSION } from '@/lib/tool-policy';
import { describeConditions } from '@/lib/tool-policy/describe';
import { deleteRuleAction, saveRuleAction, setRuleEnabledAction, testPolicyAction } from './actions';

export const metadata: Metadata = { title: 'Tool policy' };

interface ToolPolicyPageProps {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

export default async function ToolPolicyPage({ searchParams }: ToolPolicyPageProps) {
  const user = await requireDashboardUser('/tool-policy');
  if (!(await authorize(dashboardPrincipal(user), TOOL_POLICY_PERMISSION))) return <AccessDenied permission={TOOL_POLICY_PERMISSION} />;
  const editId = (await searchParams).edit;
  const [rules, servers, departments, roles] = await Promise.all([listToolPolicyRules(dashboardActor(user)), listServers(user.tenantId), departmentOptions(user.tenantId), roleOptions(user.tenantId)]);
  const options: RuleFieldOptions = {
    servers: servers.filter((server) => server.status === 'active').map((server) => server.name),
    roles: roles.map((role) => role.name),
    departments: departments.map((department) => ({ id: department.id, name: department.name, slug: department.slug })),
  };
  const editing = typeof editId === 'string' ? (rules.find((rule) => rule.id === editId) ?? null) : null;
  const rows: RuleRow[] = rules.map((rule) => ({
    id: rule.id,
    who: rule.principalLabel,
    server: rule.server,
    tool: rule.tool,
    decision: rule.decision,
    failMode: rule.failMode,
    conditions: describeConditions(rule.conditions),
    enabled: rule.enabled,
    description: rule.description,
  }));

  return (
    <>
      <PageHeader
        title="Tool policy"
        description="Who may call which tool: MCP servers' tools through the proxy, and Claude's built-in tools (server claude) through the governance hooks. People outside a server's scope are refused; inside it, the most specific rule decides (a user over a department over a role over everyone; an exact tool over a glob; a named server over *; more conditions over fewer), equally specific rules give the strictest answer, and with no rule the call is allowed."
      />
      <div className="space-y-6">
        <RulesTable rows={rows} setEnabledAction={setRuleEnabledAction} deleteAction={deleteRuleAction} />
        <div id="rule-form">
          <Section
            title={editing ? 'Edit rule' : 'Add a rule'}
            description="The proxy and the hooks apply a change within 5 seconds; Desktop's tool policy follows at its next allowlist poll. Every change is audited."
            actions={
              editing ? (
                <Link href="/tool-policy" className="text-sm font-medium text-indigo-700 hover:underline">
                  Add a new rule instead
                </Link>
              ) : undefined
            }
          >
            {/* Keyed by the rule, so moving from one edit to another resets the fields. */}
            <ActionForm key={editing?.id ?? 'new'} action={saveRuleAction} label={editing ? 'Edit rule' : 'Add rule'} submitLabel={editing ? 'Save rule' : 'Add rule'} pendingLabel="Saving…" resetOnSuccess={!editing}>
              {editing ? <Hidden name="ruleId" value={editing.id} /> : null}
              <RuleFields options={options} rule={editing} userEmail={editing?.principalKind === 'user' ? editing.principalLabel.replace(/^user /, '') : undefined} />
            </ActionForm>
          </Section>
        </div>
        <Section title="Test this rule" description="What the policy decides for a person (or a department and roles) calling a tool now or at a given time, which rule decides, and why. Nothing is recorded and nothing is called.">
          <PolicyTestBox action={testPolicyAction}>
            <PolicyTestFields options={options} />
          </PolicyTestBox>
        </Section>
      </div>
    </>
  );
}
