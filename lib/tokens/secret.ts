import path from 'node:path';
import { loadOrCreateSecret } from '@/lib/platform/secret';

let cached: { configured: string | undefined; dataDir: string; secret: Promise<string> } | undefined;

/**
 * The installation secret that protects signing keys: GATEHOUSE_SECRET, or the one `npm start`
 * generated in the data directory. Every process (web, worker, CLI) must see the same value.
 */
export function installationSecret(): Promise<string> {
  const configured = process.env.GATEHOUSE_SECRET || undefined;
  // The data directory is chosen at run time; telling Turbopack keeps it from tracing the whole project.
  const dataDir = path.resolve(/*turbopackIgnore: true*/ process.env.GATEHOUSE_DATA_DIR ?? '.data');
  if (!cached || cached.configured !== configured || cached.dataDir !== dataDir) {
    cached = { configured, dataDir, secret: loadOrCreateSecret(configured, dataDir) };
  }
  return cached.secret;
}
