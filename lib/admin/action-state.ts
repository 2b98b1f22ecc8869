/**
 * What a dashboard Server Action hands back to its form (useActionState). Plain data, no server
 * imports: the client components import it too.
 */
export type ActionState =
  | { status: 'idle' }
  | { status: 'success'; message: string; /** Shown once, e.g. a generated password. */ secret?: { label: string; value: string } }
  | { status: 'error'; message: string };

export const IDLE: ActionState = { status: 'idle' };
