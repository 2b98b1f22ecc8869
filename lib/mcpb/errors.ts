import { UserInputError } from '@/lib/users/tenant';

/** One problem with a bundle: the manifest field (or `bundle` for the archive itself) and what is wrong. */
export interface McpbIssue {
  field: string;
  message: string;
}

/**
 * The one error MCP Bundle signing fails with: the bundle is malformed, already signed, or its
 * manifest is invalid. `issues` lists every problem found, per field, so all can be fixed at once.
 */
export class McpbError extends UserInputError {
  override name = 'McpbError';
  constructor(readonly issues: McpbIssue[]) {
    super(issues.map((issue) => `${issue.field}: ${issue.message}`).join('; '));
  }
}
