/**
 * The employee home ("Connect"): what one signed-in person needs to connect Claude to Gatehouse
 * and to see their own standing. Everything here is about the person themselves; the
 * organisation's figures are added only for tenant-wide holders of costs.read / audit.read.
 */
import { configStore } from '@/lib/config';
import { fullestCap, gatewayLimits, tenantSpendSummary, userSpendSummary, utilizationPercent } from '@/lib/gateway/limits';
import { visibleModels } from '@/lib/gateway/models-endpoint';
import { mcpResource } from '@/lib/mcp/resource';
import { configuredIssuer, gatewayAudience } from '@/lib/oauth/issuer';
import { listUserSessions } from '@/lib/oauth/sessions';
import { authorize } from '@/lib/rbac/authorize';
import { listVisibleSkills } from '@/lib/skills';
import type { UserProfile } from '@/lib/users/with-roles';
import { personalOverview, tenantOverview } from '@/lib/dashboard/overview';

export interface BudgetCap {
  period: string;
  limitMicrodollars: number;
  spentMicrodollars: number;
  percent: number;
  resetsAt: string;
  /** The cap Claude Code's usage display describes (the fullest). */
  active: boolean;
}

export interface OwnSession {
  id: string;
  client: string;
  /** What the sign-in's tokens are for: the gateway, the skills MCP server, or another resource. */
  usedFor: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
}

export interface ConnectHome {
  /** The gateway's base URL (ANTHROPIC_BASE_URL, the /login gateway URL). */
  gatewayUrl: string;
  /** The skills MCP server's URL (the connector URL). */
  mcpUrl: string;
  models: string[];
  usage: {
    requestsToday: number;
    spentTodayMicrodollars: number;
    spentMonthMicrodollars: number;
    caps: BudgetCap[];
  };
  sessions: OwnSession[];
  skills: { name: string; description: string; own: boolean }[];
  /** Only for tenant-wide costs.read / audit.read holders; null otherwise. */
  organisation: { spentTodayMicrodollars: number | null; spentMonthMicrodollars: number | null; activeUsersToday: number | null; requestsToday: number | null } | null;
}

const SURFACE_NAMES: Record<string, string> = { claude_code: 'Claude Code' };

function usedFor(audience: string, gatewayUrl: string, mcpUrl: string): string {
  if (audience === mcpUrl) return 'Skills (MCP)';
  if (audience === gatewayAudience(gatewayUrl)) return 'Models (gateway)';
  return audience;
}

export async function connectHome(user: UserProfile, now: Date = new Date()): Promise<ConnectHome> {
  const gatewayUrl = configuredIssuer();
  const mcpUrl = mcpResource(gatewayUrl);
  const { config } = configStore().current();
  const subject = { tenantId: user.tenantId, userId: user.id, department: user.departmentSlug, roles: user.roles };
  const principal = { userId: user.id, tenantId: user.tenantId };
  const [seesCosts, seesActivity, seesSkills] = await Promise.all([authorize(principal, 'costs.read'), authorize(principal, 'audit.read'), authorize(principal, 'skills.read', { departmentSlug: user.departmentSlug })]);
  const [caps, spend, own, sessions, skills, orgSpend, orgActivity] = await Promise.all([
    gatewayLimits().standing(subject),
    userSpendSummary(user.tenantId, user.id, now),
    personalOverview(user.tenantId, user.id, now),
    listUserSessions(user.id),
    seesSkills ? listVisibleSkills({ tenantId: user.tenantId, userId: user.id }) : Promise.resolve([]),
    seesCosts ? tenantSpendSummary(user.tenantId, now) : Promise.resolve(null),
    seesActivity ? tenantOverview(user.tenantId, now) : Promise.resolve(null),
  ]);
  const active = fullestCap(caps);
  return {
    gatewayUrl,
    mcpUrl,
    models: visibleModels(config, { department: user.departmentSlug, roles: user.roles, callSource: null }),
    usage: {
      requestsToday: own.requestsToday,
      spentTodayMicrodollars: spend.day,
      spentMonthMicrodollars: spend.month,
      caps: caps.map((cap) => ({ period: cap.period, limitMicrodollars: cap.limit, spentMicrodollars: cap.spent, percent: utilizationPercent(cap), resetsAt: cap.resetsAt.toISOString(), active: cap === active })),
    },
    sessions: sessions
      .filter((session) => !session.revokedAt && session.expiresAt > now)
      .map((session) => ({
        id: session.id,
        client: session.clientName ?? (session.surface ? SURFACE_NAMES[session.surface] : undefined) ?? session.clientId,
        usedFor: usedFor(session.audience, gatewayUrl, mcpUrl),
        createdAt: session.createdAt.toISOString(),
        lastUsedAt: session.lastUsedAt.toISOString(),
        expiresAt: session.expiresAt.toISOString(),
      })),
    skills: skills.map((skill) => ({ name: skill.name, description: skill.description, own: skill.own })),
    organisation:
      seesCosts || seesActivity
        ? {
            spentTodayMicrodollars: orgSpend?.day ?? null,
            spentMonthMicrodollars: orgSpend?.month ?? null,
            activeUsersToday: orgActivity?.activeUsers ?? null,
            requestsToday: orgActivity?.requestsToday ?? null,
          }
        : null,
  };
}
