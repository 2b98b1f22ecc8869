import { RE2JS } from 're2js';
import { z } from 'zod';

/**
 * Blocklist patterns run on every prompt, so they are RE2 syntax (matched in linear time by
 * re2js): a pattern that could backtrack catastrophically cannot even be written. Lookarounds and
 * backreferences are refused here, at load time, with the line at fault.
 */
const pattern = z.string().min(1).check((ctx) => {
  try {
    RE2JS.compile(ctx.value);
  } catch (error) {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: `not a valid RE2 regular expression (${(error as Error).message})` });
  }
});

const nonEmpty = z.string().trim().min(1);

/** Model ids with `*` (any run of characters) and `?` (one character), e.g. `claude-sonnet-*`. */
const modelGlob = z.string().trim().min(1).max(200);

const modelAccessRule = z.strictObject({
  // Who the rule is for; every condition given must hold, an empty match covers everyone. `role`
  // holds for a tenant-wide binding and a department-scoped one (`role@department`).
  match: z
    .strictObject({
      department: nonEmpty.optional(),
      role: nonEmpty.optional(),
    })
    .prefault({}),
  allow: z.array(modelGlob).min(1),
});

export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * Upstream server tools that act on their own: fetch or search the web, run code, drive a
 * computer. The tools[] `type` names them with a version suffix (`web_fetch_20250910`).
 */
export const SERVER_TOOLS = ['web_search', 'web_fetch', 'code_execution', 'computer'] as const;

/** A glob (`*`, `?`) for an anthropic-beta value (`web-fetch-*`) or an MCP server URL. */
const featureGlob = z.string().trim().min(1).max(500);

/**
 * What the model provider may do on the request's behalf. Denied unless listed: a tool the
 * provider runs itself, an MCP server it connects to, or a beta that switches such a thing on,
 * reaches past every control Gatehouse has (the MCP allowlist included).
 */
const upstreamFeatures = z
  .strictObject({
    allow_server_tools: z.array(z.enum(SERVER_TOOLS)).default([]),
    // false: no `mcp_servers`; true: any; a list: servers whose URL matches one of the globs.
    allow_mcp_servers: z.union([z.boolean(), z.array(featureGlob)]).default(false),
    // Further anthropic-beta values (globs) from the families that reach out; values outside
    // those families always pass, as Claude Code's betas must.
    allow_betas: z.array(featureGlob).default([]),
  })
  .prefault({});

export const policySection = z
  .strictObject({
    blocklist: z
      .strictObject({
        // Matched case-insensitively as whole words.
        terms: z.array(z.string().trim().min(1)).default([]),
        // RE2 regular expressions (case-sensitive unless they start with (?i)).
        patterns: z.array(pattern).default([]),
      })
      .prefault({}),
    secrets: z
      .strictObject({
        // Redacting keeps people working while still keeping credentials away from providers.
        mode: z.enum(['block', 'redact']).default('redact'),
      })
      .prefault({}),
    // Which models people may use. No rules: every configured model. With rules, a model is
    // allowed when some rule matching the caller allows it.
    model_access: z.array(modelAccessRule).default([]),
    upstream_features: upstreamFeatures,
    // Largest /v1/messages body accepted; Claude Code's requests with long histories and images
    // reach several MiB.
    max_body_bytes: z
      .int()
      .min(1024)
      .max(512 * 1024 * 1024)
      .default(DEFAULT_MAX_BODY_BYTES),
  })
  .prefault({});

export type PolicyConfig = z.infer<typeof policySection>;
export type ModelAccessRule = z.infer<typeof modelAccessRule>;
export type UpstreamFeaturesConfig = z.infer<typeof upstreamFeatures>;
export type ServerTool = (typeof SERVER_TOOLS)[number];
