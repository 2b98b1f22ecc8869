/** What an upload may be. Generous for text plugins; tight enough that a hostile one cannot hurt. */
export interface UploadLimits {
  maxArchiveBytes: number;
  maxFiles: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

export const UPLOAD_LIMITS: UploadLimits = {
  maxArchiveBytes: 10 * 1024 * 1024,
  maxFiles: 500,
  maxFileBytes: 2 * 1024 * 1024,
  maxTotalBytes: 20 * 1024 * 1024,
};

/** One problem with an uploaded plugin: which file, where in it when known, and what is wrong. */
export interface PluginIssue {
  file: string;
  line?: number;
  message: string;
}

/**
 * The one error a plugin upload (or a publish, entitle, review … request) fails with. `issues`
 * lists every problem found, each per file and line, so an author can fix them all at once.
 */
export class PluginUploadError extends Error {
  override name = 'PluginUploadError';
  constructor(readonly issues: PluginIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

export function formatIssue(issue: PluginIssue): string {
  return `${issue.file}${issue.line ? `:${issue.line}` : ''}: ${issue.message}`;
}
