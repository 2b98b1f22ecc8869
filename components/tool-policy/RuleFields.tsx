import { CheckboxField, SelectField, TextAreaField, TextField } from '@/components/admin/fields';
import { INPUT, LABEL } from '@/components/admin/styles';
import type { StoredToolPolicyRule } from '@/lib/tool-policy/repository';
import { WEEKDAYS } from '@/lib/tool-policy/types';

// The rule form's fields (no hooks: rendered by the page inside an ActionForm).

export interface RuleFieldOptions {
  servers: string[];
  roles: string[];
  /** Rules and the test box name departments by slug; stored rules hold the id. */
  departments: { id: string; name: string; slug: string }[];
}

function appliesToValue(rule: StoredToolPolicyRule | null, options: RuleFieldOptions): string {
  if (!rule || rule.principalKind === 'everyone') return 'everyone';
  if (rule.principalKind === 'user') return 'user';
  if (rule.principalKind === 'department') return `department:${options.departments.find((department) => department.id === rule.principal)?.slug ?? ''}`;
  return `role:${rule.principal}`;
}

function AppliesTo({ options, rule }: { options: RuleFieldOptions; rule: StoredToolPolicyRule | null }) {
  return (
    <label className="block space-y-1.5">
      <span className={LABEL}>Applies to</span>
      <select aria-label="Applies to" name="appliesTo" defaultValue={appliesToValue(rule, options)} className={INPUT}>
        <option value="everyone">Everyone</option>
        <option value="user">One user (email below)</option>
        <optgroup label="Departments">
          {options.departments.map((department) => (
            <option key={department.id} value={`department:${department.slug}`}>
              {department.name}
            </option>
          ))}
        </optgroup>
        <optgroup label="Roles">
          {options.roles.map((role) => (
            <option key={role} value={`role:${role}`}>
              {role}
            </option>
          ))}
        </optgroup>
      </select>
      <span className="block text-xs text-slate-500">Most specific wins: a user rule over a department rule over a role rule over everyone.</span>
    </label>
  );
}

const SERVER_HINT = '* is any server; claude is the client’s built-in tools (Bash, Edit, WebFetch …), seen by the governance hooks.';

export function RuleFields({ options, rule, userEmail }: { options: RuleFieldOptions; rule: StoredToolPolicyRule | null; userEmail?: string }) {
  const conditions = rule?.conditions ?? {};
  const window = conditions.timeWindow;
  const servers = [...new Set([...options.servers, ...(rule ? [rule.server] : [])])];
  return (
    <div className="space-y-5">
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
        <SelectField
          label="Server"
          name="server"
          defaultValue={rule?.server ?? servers[0] ?? '*'}
          options={[...servers.filter((name) => name !== '*' && name !== 'claude').map((name) => ({ value: name, label: name })), { value: '*', label: '* (any server)' }, { value: 'claude', label: 'claude (built-in tools)' }]}
          hint={SERVER_HINT}
        />
        <TextField label="Tool" name="tool" required defaultValue={rule?.tool} placeholder="delete_*" hint="A name, or a glob with * and ?" />
        <SelectField
          label="Decision"
          name="decision"
          defaultValue={rule?.decision ?? 'block'}
          options={[
            { value: 'block', label: 'Block' },
            { value: 'ask', label: 'Ask (the client confirms each call)' },
            { value: 'allow', label: 'Allow' },
          ]}
        />
        <AppliesTo options={options} rule={rule} />
        <TextField label="User email" name="userEmail" type="email" defaultValue={userEmail} placeholder="ada@example.com" hint="Only for “One user”" />
        <SelectField
          label="When Gatehouse is down"
          name="failMode"
          defaultValue={rule?.failMode ?? 'closed'}
          options={[
            { value: 'closed', label: 'Refuse the call (fail closed)' },
            { value: 'open', label: 'Allow the call (fail open)' },
          ]}
          hint="What a governance hook does when it cannot reach Gatehouse"
        />
      </div>
      <TextField label="Description" name="description" defaultValue={rule?.description} placeholder="Marketing does not move money" hint="Shown to the person refused, and in the audit log" />
      <fieldset className="space-y-4 rounded-md border border-slate-200 p-4">
        <legend className="px-1 text-sm font-medium text-slate-700">Conditions (optional; every one given must hold, and each makes the rule more specific)</legend>
        <div className="flex flex-wrap gap-x-6 gap-y-2">
          <span className="text-sm text-slate-600">Only calls through:</span>
          <CheckboxField label="the MCP proxy" name="callSources" value="proxy" defaultChecked={conditions.callSources?.includes('proxy')} />
          <CheckboxField label="a governance hook" name="callSources" value="hook" defaultChecked={conditions.callSources?.includes('hook')} />
        </div>
        <TextField label="Only these OAuth client ids" name="clientIds" defaultValue={conditions.clientIds?.join(', ')} placeholder="claude-desktop, claude-code" />
        <div className="space-y-2">
          <div className="flex flex-wrap gap-x-4 gap-y-2">
            <span className="text-sm text-slate-600">Only on:</span>
            {WEEKDAYS.map((day) => (
              <CheckboxField key={day} label={day} name="days" value={day} defaultChecked={window?.days?.includes(day)} />
            ))}
          </div>
          <div className="grid gap-4 sm:grid-cols-3">
            <TextField label="From (HH:MM)" name="from" defaultValue={window?.from} placeholder="09:00" />
            <TextField label="To (HH:MM)" name="to" defaultValue={window?.to} placeholder="18:00" hint="Earlier than From: runs past midnight" />
            <TextField label="Time zone" name="timeZone" defaultValue={window?.timeZone} placeholder="Europe/Paris" hint="IANA name; UTC when empty" />
          </div>
        </div>
        <TextAreaField
          label="Argument conditions (JSON)"
          name="arguments"
          monospace
          rows={3}
          defaultValue={conditions.arguments ? JSON.stringify(conditions.arguments) : undefined}
          placeholder='[{"path": "/repository", "op": "matches", "value": "acme/*"}]'
          hint="path: /a/b or a.b; op: eq, neq, in, matches (glob), exists. A condition that cannot be evaluated for a call blocks it."
        />
      </fieldset>
    </div>
  );
}

export function PolicyTestFields({ options }: { options: RuleFieldOptions }) {
  return (
    <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
      <SelectField label="Server" name="server" options={[...options.servers.map((name) => ({ value: name, label: name })), { value: 'claude', label: 'claude (built-in tools)' }]} />
      <TextField label="Tool" name="tool" required placeholder="create_charge" />
      <TextField label="User email" name="user" type="email" placeholder="ada@example.com" hint="Or leave empty and try a department and roles" />
      <SelectField label="Department" name="department" options={[{ value: '', label: 'None' }, ...options.departments.map((department) => ({ value: department.slug, label: department.name }))]} />
      <TextField label="Roles" name="roles" placeholder="member, author" hint="Comma-separated" />
      <SelectField
        label="Call source"
        name="callSource"
        options={[
          { value: 'proxy', label: 'MCP proxy' },
          { value: 'hook', label: 'Governance hook' },
        ]}
      />
      <TextField label="Client id" name="clientId" placeholder="claude-desktop" />
      <TextField label="At (ISO 8601)" name="at" placeholder="2026-12-01T09:30:00Z" hint="Now when empty" />
      <TextAreaField label="Arguments (JSON)" name="arguments" monospace rows={2} placeholder='{"amount": 100}' />
    </div>
  );
}
