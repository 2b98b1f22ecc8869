import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PluginUploadError, UPLOAD_LIMITS, type UploadLimits } from './limits';
import { checkFileSet } from './paths';
import { validatePlugin, type ValidatedPlugin } from './validate';
import { readZip } from './zip';

/**
 * Everything an upload can be turned into a plugin from, all ending in the same checks: a ZIP
 * archive, a folder's files (the browser's folder picker sends relative paths), or a folder on
 * disk (the CLI). Nothing is stored until every check has passed.
 */
export function pluginFromZip(zip: Buffer, limits: UploadLimits = UPLOAD_LIMITS): ValidatedPlugin {
  const entries = readZip(zip, limits).filter((entry) => !entry.isDirectory && !isJunk(entry.name));
  return validatePlugin(checkFileSet(entries, limits));
}

export function pluginFromFiles(files: readonly { name: string; data: Buffer }[], limits: UploadLimits = UPLOAD_LIMITS): ValidatedPlugin {
  return validatePlugin(checkFileSet(files.filter((file) => !isJunk(file.name)), limits));
}

/** Finder and Explorer droppings that would otherwise fail the path rules of a zipped folder. */
export function isJunk(name: string): boolean {
  return name.startsWith('__MACOSX/') || name.split('/').some((segment) => segment === '.DS_Store' || segment === 'Thumbs.db');
}

/** Reads a plugin folder from disk: symlinks, devices and other special files are refused. */
export async function pluginFromDirectory(root: string, limits: UploadLimits = UPLOAD_LIMITS): Promise<ValidatedPlugin> {
  return pluginFromFiles(await readFolderFiles(root, limits), limits);
}

/**
 * Every regular file below `root` with its relative `/` path (skipping .git and node_modules),
 * within `limits`; symlinks, devices and other special files are refused. Skill imports read
 * folders with it too.
 */
export async function readFolderFiles(root: string, limits: UploadLimits = UPLOAD_LIMITS): Promise<{ name: string; data: Buffer }[]> {
  const files: { name: string; data: Buffer }[] = [];
  let total = 0;
  async function walk(relative: string): Promise<void> {
    for (const entry of await readdir(path.join(root, relative), { withFileTypes: true })) {
      const name = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.name === '.git' || entry.name === 'node_modules') continue;
      const stats = await lstat(path.join(root, name));
      if (stats.isSymbolicLink()) throw new PluginUploadError([{ file: name, message: 'a symbolic link: only regular files and folders are accepted' }]);
      if (stats.isDirectory()) await walk(name);
      else if (stats.isFile()) {
        if (files.length >= limits.maxFiles) throw new PluginUploadError([{ file: '(folder)', message: `more than the ${limits.maxFiles}-file limit` }]);
        total += stats.size;
        if (total > limits.maxTotalBytes) throw new PluginUploadError([{ file: '(folder)', message: `files add up to more than the ${limits.maxTotalBytes}-byte limit` }]);
        files.push({ name, data: await readFile(path.join(root, name)) });
      } else throw new PluginUploadError([{ file: name, message: 'a device, FIFO or socket: only regular files and folders are accepted' }]);
    }
  }
  await walk('');
  return files;
}
