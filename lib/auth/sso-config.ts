import { configStore } from '@/lib/config';
import type { SsoProviderConfig } from '@/lib/config/schema/sso';

export type { SsoProviderConfig };

/** A provider whose client secret is available in this process. */
export interface UsableSsoProvider {
  config: SsoProviderConfig;
  clientSecret: string;
}

const warned = new Set<string>();

/**
 * The SSO providers in gatehouse.yaml as currently loaded (the file is watched, so an edit takes
 * effect on the next sign-in without a restart). A provider whose secret variable is unset is
 * left out, with one warning, rather than offered and then failing at the IdP.
 */
export function usableSsoProviders(): UsableSsoProvider[] {
  let providers: SsoProviderConfig[];
  try {
    providers = configStore().current().config.sso.providers;
  } catch (error) {
    // A broken gatehouse.yaml must not take password sign-in down with it.
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    if (!warned.has(`config:${message}`)) console.warn(`sso: configuration unavailable, single sign-on disabled (${message})`);
    warned.add(`config:${message}`);
    return [];
  }
  return providers.flatMap((config) => {
    const clientSecret = process.env[config.client_secret_env];
    if (clientSecret) return [{ config, clientSecret }];
    if (!warned.has(config.id)) console.warn(`sso: provider "${config.id}" is not offered: ${config.client_secret_env} is not set`);
    warned.add(config.id);
    return [];
  });
}

/** What the sign-in page shows: one button per usable provider. */
export function ssoSignInOptions(): { id: string; name: string }[] {
  return usableSsoProviders().map(({ config }) => ({ id: config.id, name: config.name }));
}
