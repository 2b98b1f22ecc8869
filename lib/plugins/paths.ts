import { PluginUploadError, UPLOAD_LIMITS, type UploadLimits } from './limits';

/** A file of a plugin: a checked relative path (forward slashes) and its bytes. */
export interface PluginFile {
  path: string;
  content: Buffer;
}

const SEGMENT = /^[A-Za-z0-9._@+ -]+$/;

/**
 * The path as stored, or a reason to refuse it. Only plain relative paths below the plugin root:
 * no `..` or `.` segments, no absolute or drive paths, no backslashes (a `..\` on Windows), no
 * control characters, nothing hidden in names a shell or filesystem treats specially.
 */
export function checkPath(raw: string): { path: string } | { error: string } {
  if (raw.length === 0) return { error: 'empty file name' };
  if (raw.length > 512) return { error: 'file name longer than 512 characters' };
  if (raw.includes('\\')) return { error: 'backslash in the path (paths use forward slashes)' };
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) return { error: 'absolute path' };
  const segments = raw.split('/');
  for (const segment of segments) {
    if (segment === '..') return { error: 'path leaves the plugin folder (..)' };
    if (segment === '.' || segment === '') return { error: 'empty or "." path segment' };
    if (!SEGMENT.test(segment)) return { error: `unsupported character in "${segment}" (letters, digits, space and ._@+- only)` };
  }
  return { path: segments.join('/') };
}

/**
 * Checks every path and the limits over a whole file set, collecting every problem. Drops one
 * common top-level folder (a zip of `my-plugin/…`) so a zipped folder and its contents are alike.
 */
export function checkFileSet(entries: readonly { name: string; data: Buffer }[], limits: UploadLimits = UPLOAD_LIMITS): PluginFile[] {
  const issues: { file: string; message: string }[] = [];
  const files: PluginFile[] = [];
  for (const entry of entries) {
    const checked = checkPath(entry.name);
    if ('error' in checked) issues.push({ file: entry.name, message: checked.error });
    else files.push({ path: checked.path, content: entry.data });
  }
  if (issues.length > 0) throw new PluginUploadError(issues);
  const stripped = stripCommonFolder(files);
  if (stripped.length === 0) throw new PluginUploadError([{ file: '(upload)', message: 'no files in the upload' }]);
  if (stripped.length > limits.maxFiles) throw new PluginUploadError([{ file: '(upload)', message: `${stripped.length} files, over the ${limits.maxFiles}-file limit` }]);
  let total = 0;
  const seen = new Set<string>();
  for (const file of stripped) {
    if (file.content.length > limits.maxFileBytes) issues.push({ file: file.path, message: `${file.content.length} bytes, over the ${limits.maxFileBytes}-byte limit per file` });
    total += file.content.length;
    const key = file.path.toLowerCase();
    if (seen.has(key)) issues.push({ file: file.path, message: 'appears twice (names differing only in case count as the same on macOS and Windows)' });
    seen.add(key);
  }
  // A file named like a folder of another file ("docs" and "docs/a.md") cannot both exist on disk:
  // devices would fail to install it forever, so it is refused here, where its author sees why.
  for (const file of stripped) {
    const segments = file.path.toLowerCase().split('/');
    for (let depth = 1; depth < segments.length; depth++) {
      const folder = segments.slice(0, depth).join('/');
      if (seen.has(folder)) issues.push({ file: file.path, message: `is inside "${folder}", which is also a file` });
    }
  }
  if (total > limits.maxTotalBytes) issues.push({ file: '(upload)', message: `files add up to ${total} bytes, over the ${limits.maxTotalBytes}-byte limit` });
  if (issues.length > 0) throw new PluginUploadError(issues);
  return stripped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function stripCommonFolder(files: PluginFile[]): PluginFile[] {
  if (files.length === 0) return files;
  const first = files[0]!.path.split('/')[0]!;
  const wrapped = files.every((file) => file.path.startsWith(`${first}/`)) && !files.some((file) => file.path.startsWith('.claude-plugin/'));
  return wrapped ? files.map((file) => ({ path: file.path.slice(first.length + 1), content: file.content })) : files;
}
