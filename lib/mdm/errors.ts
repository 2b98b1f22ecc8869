import { UserInputError } from '@/lib/users/tenant';

/**
 * A managed-configuration value or setting that cannot be written; the message names the key.
 * A UserInputError, so the dashboard shows it on the form and the CLI prints it as one line.
 */
export class MdmError extends UserInputError {}
