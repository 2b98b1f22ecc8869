import type { Metadata } from 'next';
import Link from 'next/link';
import { ClientTelemetryTable } from '@/components/client-telemetry/ClientTelemetryTable';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { StatCard } from '@/components/overview/StatCard';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { clientVersusGateway } from '@/lib/client-telemetry';
import { formatCount, formatMicrodollars } from '@/lib/dashboard/format';
import { pool } from '@/lib/db/client';
import { authorize } from '@/lib/rbac/authorize';

export const metadata: Metadata = { title: 'Claude Code telemetry' };

const PERIODS = [1, 7, 30] as const;

interface PageProps {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

export default async function ClaudeCodePage({ searchParams }: PageProps) {
  const asked = Number((await searchParams).days);
  const days = (PERIODS as readonly number[]).includes(asked) ? asked : 7;
  const user = await requireDashboardUser(`/claude-code?days=${days}`);
  // Every user's spend: only a tenant-wide grant opens it.
  if (!(await authorize(dashboardPrincipal(user), 'costs.read'))) return <AccessDenied permission="costs.read" />;
  const to = new Date();
  const from = new Date(to.getTime() - (days - 1) * 86_400_000);
  const rows = await clientVersusGateway(pool(), user.tenantId, from.toISOString().slice(0, 10), to.toISOString().slice(0, 10));
  const total = (pick: (row: (typeof rows)[number]) => number) => rows.reduce((sum, row) => sum + pick(row), 0);

  return (
    <>
      <PageHeader
        title="Claude Code telemetry"
        description={`What Claude Code itself reported (its OTLP metrics and events sent to the gateway) beside what the gateway recorded, per user, over the last ${days === 1 ? 'day' : `${days} days`} (UTC days, today included).`}
      >
        <nav aria-label="Period" className="flex gap-2 text-sm">
          {PERIODS.map((period) => (
            <Link
              key={period}
              href={`/claude-code?days=${period}`}
              aria-current={period === days ? 'page' : undefined}
              className={`rounded-md px-3 py-1.5 font-medium ${period === days ? 'bg-indigo-600 text-white' : 'border border-slate-300 bg-white text-slate-700 hover:bg-slate-50'}`}
            >
              {period === 1 ? 'Today' : `${period} days`}
            </Link>
          ))}
        </nav>
      </PageHeader>
      <div className="space-y-6">
        <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4">
          <StatCard id="cc-users" label="Users reporting" value={formatCount(rows.length)} />
          <StatCard id="cc-cost" label="Cost reported by Claude Code" value={formatMicrodollars(total((row) => row.clientCostMicrodollars))} hint={`gateway: ${formatMicrodollars(total((row) => row.gatewayCostMicrodollars))}`} />
          <StatCard id="cc-active" label="Active hours" value={(total((row) => row.activeSeconds) / 3600).toFixed(1)} />
          <StatCard id="cc-rejects" label="Tool calls refused" value={formatCount(total((row) => row.toolRejects))} hint={`of ${formatCount(total((row) => row.toolAccepts + row.toolRejects))} permission decisions`} />
        </dl>
        <ClientTelemetryTable rows={rows} />
      </div>
    </>
  );
}
