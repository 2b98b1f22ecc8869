/** The parts of a role binding its label needs (Prisma's binding with role and department). */
export interface LabelledBinding {
  role: { name: string };
  department: { slug: string } | null;
}

/**
 * How a binding reads everywhere (tokens, dashboard, CLI, audit): `role` when tenant-wide,
 * `role@department` when limited to one department.
 */
export function bindingLabel(binding: LabelledBinding): string {
  return binding.department ? `${binding.role.name}@${binding.department.slug}` : binding.role.name;
}

/** A user's role labels, each once, sorted. */
export function roleLabels(bindings: readonly LabelledBinding[]): string[] {
  return [...new Set(bindings.map(bindingLabel))].sort();
}
