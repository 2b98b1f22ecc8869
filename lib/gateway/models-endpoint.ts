/**
 * GET /v1/models (and /v1/models/{id}): the models this caller may use, in the Anthropic list
 * shape. Claude Code asks only when CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY is set; a 404
 * (no models configured at all) makes it fall back to its built-in list.
 */
import type { DataPlaneRequest } from '@/lib/http/data-plane-request';
import type { GatehouseConfig } from '@/lib/config';
import type { GatewayRequestContext } from './auth';
import { anthropicError } from './errors';
import { compiledPolicy } from './policy';
import { resolveRoute } from './routing';

export interface ModelInfo {
  type: 'model';
  id: string;
  display_name: string;
  created_at: string;
}

const FAMILY_WORDS: Record<string, string> = { claude: 'Claude', gpt: 'GPT', llama: 'Llama', gemini: 'Gemini', mistral: 'Mistral', qwen: 'Qwen' };

/** `claude-sonnet-4-5` → `Claude Sonnet 4.5`; `claude-3-5-haiku-20241022` → `Claude 3.5 Haiku`. */
export function displayName(id: string): string {
  const words = id.split(/[-_]/).filter((word) => !/^\d{8}$/.test(word) && word !== 'latest');
  const out: string[] = [];
  for (const word of words) {
    const previous = out.at(-1);
    if (/^\d+$/.test(word) && previous !== undefined && /^\d+(\.\d+)*$/.test(previous)) out[out.length - 1] = `${previous}.${word}`;
    else out.push(FAMILY_WORDS[word.toLowerCase()] ?? (/^\d/.test(word) ? word : word.charAt(0).toUpperCase() + word.slice(1)));
  }
  return out.join(' ') || id;
}

/** The release date an id carries (`…-20250929`), else the Unix epoch: the API requires a date. */
function createdAt(id: string): string {
  const match = /(?:^|[-_])((?:19|20)\d{2})(\d{2})(\d{2})(?:$|[-_])/.exec(id);
  if (match) {
    const date = new Date(`${match[1]}-${match[2]}-${match[3]}T00:00:00Z`);
    if (!Number.isNaN(date.getTime())) return date.toISOString().replace('.000Z', 'Z');
  }
  return '1970-01-01T00:00:00Z';
}

/** Who is asking which models they may use: the gateway's caller, or a dashboard user. */
export interface ModelSubject {
  department: string | null;
  roles: string[];
  callSource: string | null;
}

/** Ids the subject can reach: configured models and ids routes match on, that route and are allowed. */
export function visibleModels(config: GatehouseConfig, subject: ModelSubject): string[] {
  const candidates = new Set(Object.keys(config.models));
  for (const route of config.routes) if (route.match.model) candidates.add(route.match.model);
  const policy = compiledPolicy(config);
  return [...candidates]
    .filter((id) => {
      const decision = resolveRoute(config, { model: id, department: subject.department, roles: subject.roles, callSource: subject.callSource });
      return decision !== null && decision.targets.length > 0 && policy.modelAccess.allows(id, subject);
    })
    .sort();
}

function modelInfo(id: string): ModelInfo {
  return { type: 'model', id, display_name: displayName(id), created_at: createdAt(id) };
}

export async function handleModels(request: DataPlaneRequest, context: GatewayRequestContext): Promise<Response> {
  const { caller } = context;
  const config = context.snapshot.config;
  if (Object.keys(config.models).length === 0 && config.routes.length === 0) return anthropicError('not_found_error', 'this gateway has no model list; use your built-in models');

  const ids = visibleModels(config, { department: caller.principal.department, roles: caller.principal.roles, callSource: caller.callSource });
  const pathname = request.path;
  if (pathname.startsWith('/v1/models/')) {
    let single: string;
    try {
      single = decodeURIComponent(pathname.slice('/v1/models/'.length));
    } catch {
      return anthropicError('not_found_error', 'no such model');
    }
    return ids.includes(single) ? Response.json(modelInfo(single)) : anthropicError('not_found_error', `model ${single} is not available to you`);
  }
  const data = ids.map(modelInfo);
  return Response.json({ data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
}
