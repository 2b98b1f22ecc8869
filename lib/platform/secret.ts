import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { hkdfSync, randomBytes } from 'node:crypto';
import path from 'node:path';

/**
 * GATEHOUSE_SECRET when set; otherwise one generated on first start and kept in the data
 * directory (mode 0600), so sessions and encrypted keys survive restarts of the embedded default.
 */
export async function loadOrCreateSecret(configured: string | undefined, dataDir: string): Promise<string> {
  if (configured) return configured;
  const file = path.join(dataDir, 'secret');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return secret;
}

/** Independent keys per purpose, so a leak of one (say, session cookies) exposes nothing else. */
export function deriveSecret(secret: string, purpose: string): string {
  return Buffer.from(hkdfSync('sha256', secret, 'gatehouse', purpose, 32)).toString('base64url');
}
