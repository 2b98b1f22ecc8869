import type { RE2JS } from 're2js';
import type { ModelAccessRule } from '@/lib/config/schema/policy';
import { globToRegExp } from './glob';

/** Who asks, as model access rules see them. */
export interface AccessSubject {
  department: string | null;
  roles: readonly string[];
}

/** Same as routes and limits: `role` holds for a tenant-wide binding and for `role@department`. */
function hasRole(roles: readonly string[], wanted: string): boolean {
  if (wanted.includes('@')) return roles.includes(wanted);
  return roles.some((role) => role === wanted || role.startsWith(`${wanted}@`));
}

interface CompiledRule {
  department?: string;
  role?: string;
  allow: RE2JS[];
}

/** gatehouse.yaml `policy.model_access`, compiled once per policy version. */
export class ModelAccess {
  private readonly rules: CompiledRule[];
  // Few distinct (model, department, roles) combinations exist; the bound only stops a flood of made-up ids.
  private readonly memo = new Map<string, boolean>();

  constructor(rules: readonly ModelAccessRule[]) {
    this.rules = rules.map((rule) => ({ department: rule.match.department, role: rule.match.role, allow: rule.allow.map(globToRegExp) }));
  }

  /** No rules: every model is allowed. Otherwise some rule that applies to the subject must allow it. */
  allows(model: string, subject: AccessSubject): boolean {
    if (this.rules.length === 0) return true;
    const key = JSON.stringify([model, subject.department, subject.roles]);
    let allowed = this.memo.get(key);
    if (allowed === undefined) {
      allowed = this.rules.some(
        (rule) =>
          (rule.department === undefined || rule.department === subject.department) &&
          (rule.role === undefined || hasRole(subject.roles, rule.role)) &&
          rule.allow.some((pattern) => pattern.test(model)),
      );
      if (this.memo.size >= 10_000) this.memo.clear();
      this.memo.set(key, allowed);
    }
    return allowed;
  }
}
