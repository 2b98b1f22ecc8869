import os from 'node:os';
import path from 'node:path';

/**
 * Where the helper keeps its state: GATEHOUSE_HELPER_HOME when set (tests, unusual layouts), else
 * the platform's per-user application-data folder. Nothing here is shared between users.
 */
export function helperHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.GATEHOUSE_HELPER_HOME) return path.resolve(env.GATEHOUSE_HELPER_HOME);
  const home = env.HOME || env.USERPROFILE || os.homedir();
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Gatehouse');
  if (platform === 'win32') return path.join(env.APPDATA || path.join(home, 'AppData', 'Roaming'), 'Gatehouse');
  return path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'gatehouse');
}
