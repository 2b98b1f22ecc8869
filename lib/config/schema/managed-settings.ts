import { z } from 'zod';
import { limitMatch } from './limits';

/**
 * Claude Code managed settings served at GET /managed/settings. Entries whose `match` fits the
 * user are merged in order (later entries win; objects merge key by key; arrays are joined
 * without duplicates, so a department entry can add permission rules to an organisation-wide
 * one). Keys are Claude Code's managed-settings.json keys and are passed through unchecked,
 * because new Claude Code releases add keys that this file must be able to carry at once.
 */
const entry = z.strictObject({
  match: limitMatch,
  settings: z.record(z.string(), z.json()),
});

export const managedSettingsSection = z.array(entry).default([]);

export type ManagedSettingsEntry = z.infer<typeof entry>;
export type ManagedSettingsConfig = z.infer<typeof managedSettingsSection>;
