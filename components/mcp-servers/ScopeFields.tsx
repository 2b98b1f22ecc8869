import { CheckboxField, TextField } from '@/components/admin/fields';
import type { ScopeSelection } from '@/lib/mcp/registry/form';

// Who a server is for, as checkboxes and an email list (no hooks: rendered inside an ActionForm).
// The register form and the scope editor post the same fields, read by scopeFromForm.

export function ScopeFields({ roles, departments, legend, selected }: { roles: string[]; departments: { id: string; name: string; slug: string }[]; legend: string; selected?: ScopeSelection }) {
  return (
    <fieldset className="space-y-3 rounded-md border border-slate-200 p-4">
      <legend className="px-1 text-sm font-medium text-slate-700">{legend}</legend>
      <CheckboxField label="Everyone" name="scopeEveryone" defaultChecked={selected?.everyone ?? false} />
      {departments.length ? (
        <div className="flex flex-wrap gap-x-4 gap-y-2">
          <span className="text-sm text-slate-600">Departments:</span>
          {departments.map((department) => (
            <CheckboxField key={department.id} label={department.name} name="scopeDepartments" value={department.slug} defaultChecked={selected?.departments.includes(department.slug) ?? false} />
          ))}
        </div>
      ) : null}
      <div className="flex flex-wrap gap-x-4 gap-y-2">
        <span className="text-sm text-slate-600">Roles:</span>
        {roles.map((role) => (
          <CheckboxField key={role} label={role} name="scopeRoles" value={role} defaultChecked={selected?.roles.includes(role) ?? false} />
        ))}
      </div>
      <TextField label="Users (emails)" name="scopeUsers" defaultValue={selected?.users.join(', ') ?? ''} placeholder="ada@example.com, grace@example.com" />
    </fieldset>
  );
}
