import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { db } from '@/lib/db/client';
import { ensureTenant } from './tenant';
import { createUser } from './users';

export interface SeedResult {
  /** False when an admin already existed: nothing was changed. */
  created: boolean;
  email: string;
  /** Set only when the password was generated now; also written to `credentialsFile`. */
  generatedPassword?: string;
  /** Where the generated password is kept: set when it was generated now, or at an earlier start for this admin. */
  credentialsFile?: string;
}

/** The credentials file an earlier start wrote for `email`, if it is still there. */
async function savedCredentialsFile(dataDir: string, email: string): Promise<string | undefined> {
  const file = path.join(dataDir, 'admin-credentials');
  const text = await readFile(file, 'utf8').catch(() => '');
  return /^email=(.*)$/m.exec(text)?.[1] === email ? file : undefined;
}

/**
 * Makes sure the tenant, its built-in roles and one admin exist. The admin's password comes from
 * the caller (GATEHOUSE_ADMIN_PASSWORD) or is generated, printed once by the caller and kept in
 * `<dataDir>/admin-credentials` (mode 0600) so a lost terminal is not a locked-out installation.
 */
export async function seedFirstAdmin(options: {
  email?: string;
  password?: string;
  dataDir: string;
}): Promise<SeedResult> {
  const tenant = await ensureTenant();
  const existingAdmin = await db().user.findFirst({
    where: { tenantId: tenant.id, roleBindings: { some: { role: { name: 'admin' } } } },
  });
  if (existingAdmin) return { created: false, email: existingAdmin.email, credentialsFile: await savedCredentialsFile(options.dataDir, existingAdmin.email) };

  const email = options.email ?? 'admin@gatehouse.local';
  const created = await createUser(
    { email, name: 'Administrator', roles: ['admin'], password: options.password },
    { call_source: 'system' },
    { generatePasswordIfMissing: true },
  );
  if (!created.generatedPassword) return { created: true, email: created.email };

  await mkdir(options.dataDir, { recursive: true });
  const credentialsFile = path.join(options.dataDir, 'admin-credentials');
  await writeFile(credentialsFile, `email=${created.email}\npassword=${created.generatedPassword}\n`, { mode: 0o600 });
  // `mode` only applies when the file is created; a stale file from an older cluster is tightened too.
  await chmod(credentialsFile, 0o600);
  return { created: true, email: created.email, generatedPassword: created.generatedPassword, credentialsFile };
}
