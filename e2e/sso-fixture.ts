/**
 * The SSO side of the browser tests' setup: starts the fake IdP and adds an `sso` section for it
 * to the gatehouse.yaml the server is started with (merged into the file if setup wrote one).
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { startFakeIdp, type FakeIdp } from './fake-idp';

declare module 'vitest' {
  export interface ProvidedContext {
    e2eIdpUrl: string;
  }
}

export const SSO_PROVIDER_NAME = 'Test IdP';
const SECRET_ENV = 'GATEHOUSE_E2E_IDP_CLIENT_SECRET';

export interface SsoFixture {
  idp: FakeIdp;
  /** Environment the server needs (the client secret, by the name the config gives). */
  env: Record<string, string>;
}

export async function startSsoFixture(configPath: string): Promise<SsoFixture> {
  const idp = await startFakeIdp({ clientId: 'gatehouse-e2e', clientSecret: randomBytes(24).toString('base64url') });
  const existing = await readFile(configPath, 'utf8').catch(() => '');
  const config = (parse(existing) ?? {}) as Record<string, unknown>;
  config.sso = {
    providers: [
      {
        id: 'test-idp',
        name: SSO_PROVIDER_NAME,
        issuer: idp.issuer,
        client_id: idp.clientId,
        client_secret_env: SECRET_ENV,
        department_map: { 'Research & Development': 'research' },
        role_map: { 'gatehouse-authors': 'author', 'gatehouse-security': 'security' },
        default_roles: ['member'],
        allowed_domains: ['idp.example'],
      },
    ],
  };
  await writeFile(configPath, stringify(config));
  return { idp, env: { [SECRET_ENV]: idp.clientSecret } };
}
