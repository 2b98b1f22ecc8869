/** A managed-configuration value or setting that cannot be written; the message names the key. */
export class MdmError extends Error {}
