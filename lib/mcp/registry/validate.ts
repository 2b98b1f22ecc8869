import { z } from 'zod';
import { BUILT_IN_SERVER } from '@/lib/tool-policy/types';
import { UserInputError } from '@/lib/users/tenant';
import { toolInputSchema } from './tools';

/** The proxy path segment and the name every client shows: lowercase letters, digits and dashes (as the table's check). */
export const SERVER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** An HTTP header name (RFC 9110 token) that a secret may be sent in; never one the transport itself sets. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'accept', 'connection', 'transfer-encoding', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'cookie']);

/** No line breaks or other control characters: the value goes into an HTTP header. */
const headerSafe = (max: number) => z.string().min(1).max(max).regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters or line breaks');

export const scopeTargetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('everyone') }),
  z.strictObject({ kind: z.literal('role'), value: z.string().trim().min(1).max(200) }),
  z.strictObject({ kind: z.literal('department'), value: z.string().trim().min(1).max(200) }),
  z.strictObject({ kind: z.literal('user'), value: z.string().trim().min(1).max(320) }),
]);

export type ScopeTarget = z.infer<typeof scopeTargetSchema>;

const upstreamAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({
    type: z.literal('static_secret'),
    secret: headerSafe(8192),
    /** Default Authorization, sent as `Bearer <secret>`. */
    header: z
      .string()
      .regex(HEADER_NAME, 'must be an HTTP header name')
      .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), 'is set by the transport itself')
      .optional(),
  }),
  z.strictObject({
    type: z.literal('oauth_user'),
    authorizationServer: z.url({ protocol: /^https?$/ }).optional(),
    clientId: z.string().min(1).max(500).optional(),
    clientSecret: z.string().min(1).max(4096).optional(),
    scope: z.string().max(2000).optional(),
  }),
]);

export type UpstreamAuthInput = z.infer<typeof upstreamAuthSchema>;

const common = {
  name: z
    .string()
    .regex(SERVER_NAME, 'must be 1-63 lowercase letters, digits and dashes, starting with a letter or digit')
    // Tool policy rules name the client's built-in tools (Bash, Edit …) with the server "claude".
    .refine((name) => name !== BUILT_IN_SERVER, `"${BUILT_IN_SERVER}" is reserved: tool policy uses it for the client's built-in tools`),
  description: z.string().max(2000).default(''),
  /** The owner's email; the registering administrator when absent. */
  owner: z.string().email().optional(),
  scope: z.array(scopeTargetSchema).max(200).default([]),
};

const remoteServerSchema = z.strictObject({
  ...common,
  transport: z.enum(['streamable_http', 'sse']),
  url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2000),
  upstreamAuth: upstreamAuthSchema.default({ type: 'none' }),
  /** Lets this server's URL resolve to private, loopback or unique-local addresses (never metadata). */
  allowPrivateNetwork: z.boolean().default(false),
});

const stdioServerSchema = z.strictObject({
  ...common,
  transport: z.literal('stdio'),
  command: z.string().trim().min(1).max(1000),
  args: z.array(z.string().max(4000)).max(100).default([]),
  /** Non-secret environment only: devices receive it in the clear. */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name'), z.string().max(4000)).default({}),
  /** The tools the server provides, as the administrator declares them (a device-run server is never checked from here). */
  tools: z.array(toolInputSchema).max(500).default([]),
});

export const registerServerSchema = z.discriminatedUnion('transport', [remoteServerSchema, stdioServerSchema]);

export type RegisterServerInput = z.input<typeof registerServerSchema>;
export type ValidatedRegistration = z.output<typeof registerServerSchema>;

export const updateServerSchema = z.strictObject({
  description: z.string().max(2000).optional(),
  scope: z.array(scopeTargetSchema).max(200).optional(),
});

export type UpdateServerInput = z.input<typeof updateServerSchema>;

/** Parses with `schema`, turning the first issues into one UserInputError message. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 3).map((issue) => `${issue.path.map(String).join('.') || 'input'}: ${issue.message}`);
  throw new UserInputError(issues.join('; '));
}
