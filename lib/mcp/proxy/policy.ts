/**
 * The tool policy as the proxy asks it (lib/tool-policy decides): per tools/call with the call's
 * arguments, per tool for tools/list, and per sampling or elicitation request of the upstream
 * (as the tool named by its method, with the request's params as arguments). The call source is always `proxy` and the client id is
 * the token's, so rules conditioned on either apply here as they do for the governance hooks.
 * Only callers inside the server's scope get this far (access.ts refuses the rest), so the
 * policy's scope check is passed as held.
 */
import { decideToolCall, ruleNameOf, toolPolicyFor, type ClientToolPermission, type ToolPolicyVerdict } from '@/lib/tool-policy';
import type { Principal } from '@/lib/tokens';
import type { ProxyAccess } from './access';

/** A verdict with the name the audit trail and the client see for it: the rule's id, or the default's. */
export interface ToolVerdict extends ToolPolicyVerdict {
  ruleName: string;
}

function context(principal: Principal, at: Date) {
  return { callSource: 'proxy' as const, clientId: principal.clientId, at };
}

export async function decideProxiedCall(access: ProxyAccess, principal: Principal, tool: string, args: unknown, at = new Date()): Promise<ToolVerdict> {
  const verdict = await decideToolCall({ principal, server: access.server.name, tool, context: { ...context(principal, at), arguments: args ?? {} }, inScope: true });
  return { ...verdict, ruleName: ruleNameOf(verdict) };
}

/** Each tool's standing before any call: blocked ones are hidden, ask ones marked. */
export async function proxiedToolPermissions(access: ProxyAccess, principal: Principal, tools: readonly string[], at = new Date()): Promise<Record<string, ClientToolPermission>> {
  return toolPolicyFor({ principal, server: access.server.name, tools, context: context(principal, at), inScope: true });
}
