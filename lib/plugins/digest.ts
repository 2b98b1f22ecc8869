import { createHash } from 'node:crypto';
import type { PluginFile } from './paths';
import { writeZip } from './zip';

/**
 * The canonical digest of a plugin's file tree: SHA-256 over the `sha256sum` listing of its
 * files sorted by path (bytewise), one `<hex>  <path>\n` line each. Anyone can recompute it by
 * hand in a synced plugin folder (README, "Verifying a plugin by hand"):
 *   find . -type f | sed 's|^\./||' | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum
 */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function byPath(a: { path: string }, b: { path: string }): number {
  return Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));
}

export function fileListing(files: readonly PluginFile[]): string {
  return [...files].sort(byPath).map((file) => `${sha256Hex(file.content)}  ${file.path}\n`).join('');
}

export function treeDigest(files: readonly PluginFile[]): string {
  return sha256Hex(fileListing(files));
}

/** The archive devices download: deterministic, so its sha256 is fixed by the files alone. */
export function pluginArchive(files: readonly PluginFile[]): Buffer {
  return writeZip([...files].sort(byPath).map((file) => ({ name: file.path, data: file.content })));
}
