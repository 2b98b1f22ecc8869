import type { Permission } from './permissions';

/**
 * A signed-in principal asked for something its role bindings do not grant. The message names
 * the permission (and department, when the check was scoped) so it can be shown as is.
 */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';

  constructor(
    readonly permission: Permission,
    readonly departmentId: string | null = null,
    message = `this needs the ${permission} permission${departmentId ? ' for that department' : ''}`,
  ) {
    super(message);
  }
}
