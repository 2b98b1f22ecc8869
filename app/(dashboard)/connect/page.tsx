import type { Metadata } from 'next';
import Link from 'next/link';
import { Section } from '@/components/admin/Section';
import { CopyField } from '@/components/connect/CopyField';
import { OwnSessions } from '@/components/connect/OwnSessions';
import { PageHeader } from '@/components/layout/PageHeader';
import { StatCard } from '@/components/overview/StatCard';
import { requireDashboardUser } from '@/lib/auth/session';
import { connectHome } from '@/lib/connect/home';
import { formatCount, formatMicrodollars, formatUtcTimestamp } from '@/lib/dashboard/format';
import { revokeAllOwnSessionsAction, revokeOwnSessionAction } from './actions';

export const metadata: Metadata = { title: 'Connect' };

const PERIOD_NAMES: Record<string, string> = { daily: 'Today', weekly: 'This week', monthly: 'This month' };

function Steps({ children }: { children: React.ReactNode }) {
  return <ol className="list-decimal space-y-3 pl-5 text-sm text-slate-700">{children}</ol>;
}

export default async function ConnectPage() {
  const user = await requireDashboardUser('/connect');
  const home = await connectHome(user);
  const { usage } = home;
  const settingsJson = JSON.stringify({ forceLoginMethod: 'gateway', forceLoginGatewayUrl: home.gatewayUrl }, null, 2);
  const helperJson = JSON.stringify({ apiKeyHelper: 'node /path/to/gatehouse-helper.mjs', env: { ANTHROPIC_BASE_URL: home.gatewayUrl } }, null, 2);
  return (
    <>
      <PageHeader title="Connect" description={`Signed in as ${user.email}. Connect Claude to Gatehouse and see your own usage.`} />
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
        <Section title="Claude Desktop and Cowork" description="Add Gatehouse as a custom connector: your skills become slash commands in every session.">
          <div className="space-y-4">
            <CopyField label="Connector URL" value={home.mcpUrl} />
            <Steps>
              <li>In Claude, open Settings → Connectors and choose “Add custom connector”.</li>
              <li>Name it “Gatehouse” and paste the connector URL above. Leave the OAuth fields empty.</li>
              <li>Choose Connect. A browser tab opens Gatehouse: sign in if asked and approve access.</li>
              <li>
                In a chat, type <kbd className="rounded border border-slate-300 px-1 font-mono">/</kbd>: your skills are listed as commands. Edits you make here show up in open
                sessions without reconnecting.
              </li>
            </Steps>
          </div>
        </Section>

        <Section title="Claude Code" description="Use your organisation’s models through the gateway, and your skills as / commands.">
          <div className="space-y-5">
            <div className="space-y-2">
              <h3 className="text-sm font-semibold text-slate-900">Sign in through the gateway</h3>
              <p className="text-sm text-slate-700">
                Run <code className="font-mono">claude</code>, type <code className="font-mono">/login</code>, choose to sign in through a gateway and give it this URL. A browser tab
                opens: approve the code it shows.
              </p>
              <CopyField label="Gateway URL" value={home.gatewayUrl} />
              <CopyField label="~/.claude/settings.json (pre-fills /login)" value={settingsJson} multiline />
            </div>
            <div className="space-y-2">
              <h3 className="text-sm font-semibold text-slate-900">Add your skills</h3>
              <CopyField label="Add the skills server" value={`claude mcp add --transport http gatehouse ${home.mcpUrl}`} />
              <p className="text-sm text-slate-700">
                Then run <code className="font-mono">/mcp</code> in Claude Code and choose “Authenticate” for gatehouse. Your skills appear as{' '}
                <code className="font-mono">/gatehouse:&lt;skill&gt;</code> commands (<code className="font-mono">/mcp__gatehouse__&lt;skill&gt;</code> in older versions).
              </p>
            </div>
            <div className="space-y-2">
              <h3 className="text-sm font-semibold text-slate-900">Or with the credential helper</h3>
              <p className="text-sm text-slate-700">
                With <code className="font-mono">gatehouse-helper</code> (from your administrator), sign in once, then let Claude Code ask it for tokens instead of using /login:
              </p>
              <CopyField label="Sign the helper in" value={`gatehouse-helper login --server ${home.gatewayUrl}`} />
              <CopyField label="~/.claude/settings.json (helper)" value={helperJson} multiline />
            </div>
          </div>
        </Section>
      </div>

      <h2 className="mb-3 mt-8 text-lg font-semibold text-slate-900">Your usage</h2>
      <dl className="grid grid-cols-1 gap-4 sm:grid-cols-3">
        <StatCard id="my-spend-today" label="Your spend today" value={formatMicrodollars(usage.spentTodayMicrodollars)} hint="Provider cost of your requests since 00:00 UTC" />
        <StatCard id="my-spend-month" label="Your spend this month" value={formatMicrodollars(usage.spentMonthMicrodollars)} hint="Since the 1st, UTC" />
        <StatCard id="my-requests-today" label="Your requests today" value={formatCount(usage.requestsToday)} />
      </dl>
      <div className="mt-4" data-budgets>
        {usage.caps.length === 0 ? (
          <p className="text-sm text-slate-600">No spending cap applies to you.</p>
        ) : (
          <ul className="space-y-3">
            {usage.caps.map((cap) => (
              <li key={`${cap.period}-${cap.resetsAt}-${cap.limitMicrodollars}`} className="rounded-md border border-slate-200 bg-white p-4" data-cap={cap.period}>
                <div className="flex flex-wrap items-baseline justify-between gap-2 text-sm">
                  <span className="font-medium text-slate-900">
                    {PERIOD_NAMES[cap.period] ?? cap.period}: {formatMicrodollars(cap.spentMicrodollars)} of {formatMicrodollars(cap.limitMicrodollars)}
                  </span>
                  <span className="tabular-nums text-slate-700" data-cap-percent>
                    {cap.percent}% used · resets {formatUtcTimestamp(cap.resetsAt)}
                  </span>
                </div>
                <div className="mt-2 h-2 overflow-hidden rounded bg-slate-100" role="progressbar" aria-label={`${PERIOD_NAMES[cap.period] ?? cap.period} budget used`} aria-valuenow={Math.min(cap.percent, 100)} aria-valuemin={0} aria-valuemax={100}>
                  <div className={`h-full ${cap.percent >= 95 ? 'bg-rose-500' : cap.percent >= 75 ? 'bg-amber-500' : 'bg-indigo-500'}`} style={{ width: `${Math.min(cap.percent, 100)}%` }} />
                </div>
              </li>
            ))}
          </ul>
        )}
      </div>

      {home.organisation ? (
        <>
          <h2 className="mb-3 mt-8 text-lg font-semibold text-slate-900">Organisation</h2>
          <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4" data-organisation>
            {home.organisation.spentTodayMicrodollars !== null ? <StatCard id="org-spend-today" label="Organisation spend today" value={formatMicrodollars(home.organisation.spentTodayMicrodollars)} /> : null}
            {home.organisation.spentMonthMicrodollars !== null ? <StatCard id="org-spend-month" label="Organisation spend this month" value={formatMicrodollars(home.organisation.spentMonthMicrodollars)} /> : null}
            {home.organisation.activeUsersToday !== null ? <StatCard id="org-active-users" label="Active users today" value={formatCount(home.organisation.activeUsersToday)} /> : null}
            {home.organisation.requestsToday !== null ? <StatCard id="org-requests-today" label="Requests today" value={formatCount(home.organisation.requestsToday)} /> : null}
          </dl>
        </>
      ) : null}

      <div className="mt-8 grid grid-cols-1 gap-6 lg:grid-cols-2">
        <Section title="Models you may use" description="Through the gateway, under your organisation’s policy.">
          {home.models.length === 0 ? (
            <p className="text-sm text-slate-600">No model is available to you yet. Ask your administrator.</p>
          ) : (
            <ul className="flex flex-wrap gap-2" data-models>
              {home.models.map((model) => (
                <li key={model} className="rounded-md border border-slate-200 bg-slate-50 px-2 py-1 font-mono text-sm text-slate-800">
                  {model}
                </li>
              ))}
            </ul>
          )}
        </Section>

        <Section title="Your skills" description="What Claude shows as / commands once connected." actions={<Link href="/skills" className="text-sm font-medium text-indigo-700 hover:underline">Manage skills</Link>}>
          {home.skills.length === 0 ? (
            <p className="text-sm text-slate-600">
              You have no skills yet. <Link href="/skills" className="font-medium text-indigo-700 hover:underline">Create or import one</Link>.
            </p>
          ) : (
            <ul className="divide-y divide-slate-200" data-skills>
              {home.skills.map((skill) => (
                <li key={skill.name} className="py-2 text-sm">
                  <span className="font-mono font-medium text-slate-900">/{skill.name}</span>
                  {skill.own ? null : <span className="ml-2 text-xs text-slate-500">shared with you</span>}
                  <span className="block text-slate-600">{skill.description}</span>
                </li>
              ))}
            </ul>
          )}
        </Section>
      </div>

      <div className="mt-6">
        <Section title="Where you are signed in" description="Applications holding a Gatehouse sign-in as you. Signing one out stops it within seconds.">
          <OwnSessions sessions={home.sessions} revokeOne={revokeOwnSessionAction} revokeAll={revokeAllOwnSessionsAction} />
        </Section>
      </div>
    </>
  );
}
