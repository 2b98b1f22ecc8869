/** One problem in gatehouse.yaml, located well enough for a person to jump to it. */
export interface ConfigIssue {
  file: string;
  /** 1-based; null when the file could not be positioned (e.g. unreadable). */
  line: number | null;
  /** Field path like `routes[0].model`; empty for syntax errors and whole-file problems. */
  field: string;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line === null ? issue.file : `${issue.file}:${issue.line}`;
  return issue.field ? `${where}: ${issue.field}: ${issue.message}` : `${where}: ${issue.message}`;
}

export class ConfigError extends Error {
  readonly file: string;
  readonly issues: ConfigIssue[];

  constructor(file: string, issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

/** `routes[0].targets[1].provider`, quoting map keys that would be ambiguous in dotted form. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, index) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const key = String(segment);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return index === 0 ? key : `.${key}`;
      return `[${JSON.stringify(key)}]`;
    })
    .join('');
}
