import { z } from 'zod';
import { isSemver } from './semver';

/** Plugin names: what Claude Code shows as `name:` prefixes and what org-plugins/ folders are called. */
export const PLUGIN_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** /plugins/publish and /plugins/review are pages, so no plugin may be called that. */
const RESERVED_NAMES = ['publish', 'review'];

const relativeComponentPath = z
  .string()
  .refine((value) => !value.split('/').includes('..') && !value.startsWith('/') && !value.includes('\\'), 'must be a path inside the plugin (./…), without ..');
const componentPaths = z.union([relativeComponentPath, z.array(relativeComponentPath)]);

/**
 * `.claude-plugin/plugin.json`. Claude Code needs only `name`; Gatehouse also needs the version
 * (versions are what it reviews, signs and syncs) and a description (what the marketplace lists).
 * Keys Gatehouse does not know are kept: Cowork plugins carry free-form ones such as `categories`.
 */
export const manifestSchema = z.looseObject({
  name: z
    .string()
    .max(64)
    .regex(PLUGIN_NAME, 'must be lowercase letters, digits and single hyphens, like "acme-tools"')
    .refine((name) => !RESERVED_NAMES.includes(name), 'is reserved (a dashboard page has that name)'),
  version: z.string().refine(isSemver, 'must be a semantic version like 1.2.0'),
  description: z.string().min(1, 'must not be empty').max(1000),
  displayName: z.string().max(100).optional(),
  author: z.looseObject({ name: z.string().min(1).max(200), email: z.string().max(320).optional(), url: z.string().max(2000).optional() }).optional(),
  homepage: z.string().max(2000).optional(),
  repository: z.string().max(2000).optional(),
  license: z.string().max(100).optional(),
  keywords: z.array(z.string().max(50)).max(30).optional(),
  category: z.string().max(50).optional(),
  categories: z.array(z.string().max(50)).max(10).optional(),
  commands: componentPaths.optional(),
  agents: componentPaths.optional(),
  skills: componentPaths.optional(),
  hooks: z.union([componentPaths, z.record(z.string(), z.unknown())]).optional(),
  mcpServers: z.union([componentPaths, z.record(z.string(), z.unknown())]).optional(),
});
export type PluginManifest = z.output<typeof manifestSchema>;

export const hooksFileSchema = z.looseObject({
  description: z.string().optional(),
  hooks: z.record(
    z.string().regex(/^[A-Z][A-Za-z]+$/, 'hook events are names like PreToolUse'),
    z.array(
      z.looseObject({
        matcher: z.string().optional(),
        hooks: z
          .array(
            z
              .looseObject({ type: z.enum(['command', 'prompt', 'agent', 'http']), command: z.string().optional(), prompt: z.string().optional(), url: z.string().optional(), timeout: z.number().positive().optional() })
              .refine((hook) => hook.type !== 'command' || (typeof hook.command === 'string' && hook.command.length > 0), 'a command hook needs "command"'),
          )
          .min(1),
      }),
    ),
  ),
});

export const mcpFileSchema = z.looseObject({
  mcpServers: z.record(
    z.string().min(1).max(100),
    z
      .looseObject({
        type: z.enum(['stdio', 'http', 'sse', 'ws']).optional(),
        url: z.string().optional(),
        command: z.string().optional(),
        args: z.array(z.string()).optional(),
        env: z.record(z.string(), z.string()).optional(),
        headers: z.record(z.string(), z.string()).optional(),
      })
      .refine((server) => Boolean(server.url) !== Boolean(server.command), 'a server needs either "url" (http, sse) or "command" (stdio)'),
  ),
});

export const skillFrontmatterSchema = z.looseObject({
  name: z.string().max(64).regex(PLUGIN_NAME, 'must be lowercase letters, digits and hyphens'),
  description: z.string().min(1, 'must not be empty').max(1024),
});

export const agentFrontmatterSchema = z.looseObject({
  name: z.string().min(1).max(64),
  description: z.string().min(1, 'must not be empty').max(1024),
});

export const commandFrontmatterSchema = z.looseObject({
  description: z.string().max(1024).optional(),
  'argument-hint': z.string().optional(),
  'allowed-tools': z.union([z.string(), z.array(z.string())]).optional(),
});
