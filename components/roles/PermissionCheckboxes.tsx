import { CheckboxField } from '@/components/admin/fields';
import { PERMISSION_DESCRIPTIONS, PERMISSIONS, type Permission } from '@/lib/rbac/permissions';

/** One checkbox per permission in the catalogue, with what it allows. */
export function PermissionCheckboxes({ checked = [] }: { checked?: readonly Permission[] }) {
  return (
    <fieldset>
      <legend className="text-sm font-medium text-slate-700">Permissions</legend>
      <div className="mt-2 grid gap-3 sm:grid-cols-2">
        {PERMISSIONS.map((permission) => (
          <CheckboxField
            key={permission}
            name="permissions"
            value={permission}
            defaultChecked={checked.includes(permission)}
            label={<code className="font-mono text-xs">{permission}</code>}
            hint={PERMISSION_DESCRIPTIONS[permission]}
          />
        ))}
      </div>
    </fieldset>
  );
}
