import { z } from 'zod';
import { isRecord } from '@/lib/platform/json';
import { PluginUploadError, type UploadLimits } from '@/lib/plugins/limits';
import { archiveEnd, readZip } from '@/lib/plugins/zip';
import { McpbError, type McpbIssue } from './errors';
import { endsWithSignatureBlock } from './framing';

/**
 * What an MCP Bundle must be before Gatehouse signs it: an unsigned zip with `manifest.json` at its
 * root that satisfies the MCPB manifest's required fields (name, version, description, author.name,
 * server with type, entry_point and mcp_config, and manifest_version or the legacy dxt_version),
 * whose server entry point (and icon, when named) is a file in the bundle. Optional fields are
 * type-checked when present and otherwise left to the client.
 */

export const MANIFEST_FILE = 'manifest.json';
const MANIFEST_VERSIONS = ['0.1', '0.2', '0.3', '0.4'] as const;

/** Bundles carry their dependencies (node_modules, a Python venv), so they are far larger than plugins. */
export const BUNDLE_LIMITS: UploadLimits = {
  maxArchiveBytes: 256 * 1024 * 1024,
  maxFiles: 30_000,
  maxFileBytes: 256 * 1024 * 1024,
  maxTotalBytes: 1024 * 1024 * 1024,
};

const text = z.string('must be a non-empty string').trim().min(1, 'must be a non-empty string');

const mcpConfigSchema = z.object({
  command: text,
  args: z.array(z.string(), 'must be an array of strings').optional(),
  env: z.record(z.string(), z.string(), 'must be an object of string values').optional(),
});

const manifestSchema = z
  .object({
    manifest_version: z.enum(MANIFEST_VERSIONS, `must be one of ${MANIFEST_VERSIONS.join(', ')}`).optional(),
    dxt_version: z.enum(MANIFEST_VERSIONS, `must be one of ${MANIFEST_VERSIONS.join(', ')}`).optional(),
    name: text,
    version: text,
    description: text,
    display_name: z.string().optional(),
    author: z.object({ name: text, email: z.string().optional(), url: z.string().optional() }, 'must be an object with a name'),
    server: z.object(
      {
        type: z.enum(['node', 'python', 'binary', 'uv'], 'must be node, python, binary or uv'),
        entry_point: text,
        mcp_config: mcpConfigSchema.optional(),
      },
      'must be an object with type, entry_point and mcp_config',
    ),
    icon: z.string().optional(),
    tools: z.array(z.object({ name: text, description: z.string().optional() }), 'must be an array of {name, description}').optional(),
    prompts: z.array(z.object({ name: text }), 'must be an array of {name, …}').optional(),
    keywords: z.array(z.string(), 'must be an array of strings').optional(),
    user_config: z
      .record(
        z.string(),
        z.object({ type: z.enum(['string', 'number', 'boolean', 'directory', 'file'], 'must be string, number, boolean, directory or file'), title: text, description: text }),
        'must be an object of options',
      )
      .optional(),
  })
  .loose();

export type McpbManifest = z.infer<typeof manifestSchema>;

/** The bundle's manifest and what signing reports about it. */
export interface ValidatedBundle {
  manifest: McpbManifest;
  manifestVersion: string;
  files: number;
}

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let value = json;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

function zipIssues(error: PluginUploadError): McpbIssue[] {
  return error.issues.map((issue) => ({ field: issue.file === '(archive)' ? 'bundle' : `bundle: ${issue.file}`, message: issue.message }));
}

function bundlePath(value: string): string | null {
  const normalised = value.replace(/\\/g, '/').replace(/^\.\//, '');
  if (normalised.startsWith('/') || normalised.split('/').some((segment) => segment === '..')) return null;
  return normalised;
}

function stringAt(json: unknown, path: readonly string[]): string | undefined {
  const value = valueAt(json, path);
  return typeof value === 'string' ? value : undefined;
}

/**
 * Manifest problems that depend on the manifest's own values (the version's server types, files
 * it names), read from the raw JSON so they are reported alongside any type errors.
 */
function crossChecks(json: unknown, files: ReadonlySet<string>): McpbIssue[] {
  const issues: McpbIssue[] = [];
  const version = stringAt(json, ['manifest_version']) ?? stringAt(json, ['dxt_version']);
  const serverType = stringAt(json, ['server', 'type']);
  if (valueAt(json, ['manifest_version']) === undefined && valueAt(json, ['dxt_version']) === undefined) issues.push({ field: 'manifest_version', message: 'is required (or the legacy dxt_version)' });
  if (serverType === 'uv' && version !== '0.4') issues.push({ field: 'server.type', message: `"uv" needs manifest_version 0.4 (this manifest is ${version ?? 'unversioned'})` });
  if (serverType !== 'uv' && valueAt(json, ['server']) !== undefined && valueAt(json, ['server', 'mcp_config']) === undefined) issues.push({ field: 'server.mcp_config', message: 'is required: an object with the command (and args, env) that starts the server' });
  for (const field of ['server.entry_point', 'icon']) {
    const value = stringAt(json, field.split('.'));
    if (!value) continue;
    const path = bundlePath(value);
    if (path === null) issues.push({ field, message: `"${value}" must be a path inside the bundle` });
    else if (!files.has(path)) issues.push({ field, message: `"${value}" is not a file in the bundle` });
  }
  return issues;
}

/**
 * Checks an uploaded bundle, every entry inflated and checksummed, and returns its manifest; a
 * McpbError listing every problem otherwise. A bundle that is already signed is refused: signing
 * it again would sign the first signature into the content.
 */
export function validateBundle(bundle: Buffer): ValidatedBundle {
  if (endsWithSignatureBlock(bundle)) {
    throw new McpbError([{ field: 'bundle', message: 'is already signed (it ends with an MCPB_SIG_V1 block): sign the unsigned bundle, or strip the signature first with `mcpb unsign`' }]);
  }
  let entries;
  try {
    const end = archiveEnd(bundle);
    if (end !== bundle.length) throw new McpbError([{ field: 'bundle', message: `${bundle.length - end} bytes follow the end of the ZIP archive` }]);
    entries = readZip(bundle, BUNDLE_LIMITS, (name) => name === MANIFEST_FILE);
  } catch (error) {
    if (error instanceof PluginUploadError) throw new McpbError(zipIssues(error));
    throw error;
  }
  const manifestEntry = entries.find((entry) => entry.name === MANIFEST_FILE && !entry.isDirectory);
  if (!manifestEntry) throw new McpbError([{ field: MANIFEST_FILE, message: 'is missing: a bundle has manifest.json at the root of the zip' }]);
  let json: unknown;
  try {
    json = JSON.parse(manifestEntry.data.toString('utf8'));
  } catch (error) {
    throw new McpbError([{ field: MANIFEST_FILE, message: `is not valid JSON (${(error as Error).message})` }]);
  }
  if (!isRecord(json)) throw new McpbError([{ field: MANIFEST_FILE, message: 'must be a JSON object' }]);
  const parsed = manifestSchema.safeParse(json);
  const issues: McpbIssue[] = parsed.success ? [] : parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || MANIFEST_FILE, message: valueAt(json, issue.path) === undefined ? 'is required' : issue.message }));
  const files = new Set(entries.filter((entry) => !entry.isDirectory).map((entry) => entry.name));
  issues.push(...crossChecks(json, files).filter((issue) => !issues.some((earlier) => earlier.field === issue.field)));
  if (!parsed.success || issues.length) throw new McpbError(issues);
  return { manifest: parsed.data, manifestVersion: (parsed.data.manifest_version ?? parsed.data.dxt_version)!, files: files.size };
}
