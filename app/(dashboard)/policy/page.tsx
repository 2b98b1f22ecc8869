import type { Metadata } from 'next';
import Link from 'next/link';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { RuleActivity } from '@/components/policy/RuleActivity';
import { CELL, Section, SimpleTable } from '@/components/policy/Section';
import { TargetList } from '@/components/policy/TargetList';
import { Badge } from '@/components/table/Badge';
import { describeDecision } from '@/lib/audit-query';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { configStore, type PolicyConfig } from '@/lib/config';
import { formatMicrodollars, formatUtcTimestamp } from '@/lib/dashboard/format';
import { effectivePolicy } from '@/lib/dashboard/policy';
import { reloadHistory, ruleActivity } from '@/lib/dashboard/policy-history';
import { authorize } from '@/lib/rbac/authorize';

export const metadata: Metadata = { title: 'Policy' };

const ACTIVITY_DAYS = 14;

function perMtok(microdollarsPerMtok: number): string {
  return `${formatMicrodollars(microdollarsPerMtok)}`;
}

function Chips({ items, empty }: { items: readonly string[]; empty: string }) {
  if (items.length === 0) return <p className="text-sm text-slate-500">{empty}</p>;
  return (
    <ul className="flex flex-wrap gap-2">
      {items.map((item, index) => (
        <li key={`${item}-${index}`} className="rounded-md bg-slate-100 px-2 py-1 font-mono text-xs text-slate-800 ring-1 ring-inset ring-slate-300">
          <span className="mr-1 text-slate-400">{index}</span>
          {item}
        </li>
      ))}
    </ul>
  );
}

export default async function PolicyPage() {
  const user = await requireDashboardUser('/policy');
  // Security and admin: the built-in roles holding policy.admin tenant-wide.
  if (!(await authorize(dashboardPrincipal(user), 'policy.admin'))) return <AccessDenied permission="policy.admin" />;
  const policy = effectivePolicy();
  let current: PolicyConfig | null = null;
  try {
    current = configStore().current().config.policy;
  } catch {
    current = null;
  }
  const [history, activity] = await Promise.all([reloadHistory(user.tenantId), ruleActivity(user.tenantId, ACTIVITY_DAYS)]);
  const rows = activity.series.map((series) => ({ ...series, words: describeDecision({ policy: { decision: series.decision as 'block', rule: series.rule } }, current) ?? series.rule }));

  return (
    <>
      <PageHeader
        title="Policy"
        description={policy ? `In force: ${policy.status.version ?? 'unknown'} (${policy.status.source === 'defaults' ? 'built-in defaults, no gatehouse.yaml' : 'gatehouse.yaml'}). Edits to the file are picked up live.` : 'No configuration could be loaded.'}
      />
      {policy?.status.problem ? (
        <p role="alert" className="mb-6 rounded-md bg-rose-50 px-4 py-3 text-sm text-rose-800">
          The latest edit was refused, so the previous version stays in force: {policy.status.problem}
        </p>
      ) : null}
      {policy ? (
        <>
          <Section id="blocklist" title="Blocklist" description="Requests containing a term (whole words; case, accents, look-alike letters and separators folded) or matching a pattern (RE2) are refused.">
            <h3 className="mb-2 text-sm font-medium text-slate-700">Terms</h3>
            <Chips items={policy.terms} empty="No terms." />
            <h3 className="mb-2 mt-4 text-sm font-medium text-slate-700">Patterns</h3>
            <Chips items={policy.patterns} empty="No patterns." />
          </Section>
          <Section id="secrets" title="Secrets" description="Credentials found in prompts (secretlint's rules plus Gatehouse's).">
            <p className="text-sm">
              Mode: <Badge tone={policy.secretsMode === 'block' ? 'red' : 'amber'}>{policy.secretsMode}</Badge>{' '}
              <span className="text-slate-600">{policy.secretsMode === 'block' ? 'a request with a secret is refused' : 'secrets are replaced before the request leaves Gatehouse'}</span>
            </p>
          </Section>
          <Section id="model-access" title="Model access" description="With no rules every configured model is open to everyone; with rules, a model is allowed when a rule matching the caller allows it.">
            {policy.modelAccess.length === 0 ? (
              <p className="text-sm text-slate-500">No rules: every configured model is allowed.</p>
            ) : (
              <SimpleTable caption="Model access rules" headers={['#', 'For', 'Allows']}>
                {policy.modelAccess.map((rule, index) => (
                  <tr key={index}>
                    <td className={CELL}>{index}</td>
                    <td className={CELL}>{rule.match}</td>
                    <td className={`${CELL} font-mono text-xs`}>{rule.allow.join(', ')}</td>
                  </tr>
                ))}
              </SimpleTable>
            )}
            <p className="mt-3 text-sm text-slate-600">
              Upstream features: server tools {policy.upstreamFeatures.serverTools.join(', ') || 'none'}; MCP servers {policy.upstreamFeatures.mcpServers}; extra betas{' '}
              {policy.upstreamFeatures.betas.join(', ') || 'none'}. Largest request body {Math.round(policy.maxBodyBytes / 1048576)} MiB.
            </p>
          </Section>
          <Section id="models" title="Models" description="Targets in failover order with this server's live circuit-breaker state; prices per million tokens.">
            {policy.models.length === 0 ? (
              <p className="text-sm text-slate-500">No models configured.</p>
            ) : (
              <SimpleTable caption="Models" headers={['Model', 'Targets', 'Input', 'Output', 'Cache write', 'Cache read', 'Price from']}>
                {policy.models.map((model) => (
                  <tr key={model.id}>
                    <td className={`${CELL} font-mono text-xs`}>{model.id}</td>
                    <td className={CELL}>
                      <TargetList targets={model.targets} />
                    </td>
                    {model.price ? (
                      <>
                        <td className={`${CELL} tabular-nums`}>{perMtok(model.price.input)}</td>
                        <td className={`${CELL} tabular-nums`}>{perMtok(model.price.output)}</td>
                        <td className={`${CELL} tabular-nums`}>{perMtok(model.price.cacheWrite)}</td>
                        <td className={`${CELL} tabular-nums`}>{perMtok(model.price.cacheRead)}</td>
                        <td className={`${CELL} font-mono text-xs`}>{model.price.id}</td>
                      </>
                    ) : (
                      <td className={CELL} colSpan={5}>
                        No price known: refused for anyone under a budget.
                      </td>
                    )}
                  </tr>
                ))}
              </SimpleTable>
            )}
          </Section>
          <Section id="routes" title="Routes" description="Evaluated top to bottom; the first whose conditions all hold decides. Requests no route matches go to the model they name.">
            {policy.routes.length === 0 ? (
              <p className="text-sm text-slate-500">No routes: each request goes to the model it names.</p>
            ) : (
              <SimpleTable caption="Routes" headers={['Route', 'When', 'Goes to', 'Targets', 'Cost ceiling']}>
                {policy.routes.map((route) => (
                  <tr key={route.name}>
                    <td className={`${CELL} font-mono text-xs`}>{route.name}</td>
                    <td className={CELL}>{route.match}</td>
                    <td className={CELL}>{route.destination}</td>
                    <td className={CELL}>
                      <TargetList targets={route.targets} />
                    </td>
                    <td className={`${CELL} tabular-nums`}>{route.maxCostMicrodollars === null ? '—' : formatMicrodollars(route.maxCostMicrodollars)}</td>
                  </tr>
                ))}
              </SimpleTable>
            )}
          </Section>
        </>
      ) : null}
      <Section id="activity" title="Blocked and redacted requests" description={`Per rule and UTC day, the last ${ACTIVITY_DAYS} days. Open a rule for the requests behind it.`}>
        <RuleActivity rows={rows} days={activity.days} from={`${activity.days[0]}`} />
      </Section>
      <Section id="history" title="Version and reload history" description="Every reload of gatehouse.yaml, newest first, with what changed. A refused edit is listed too; the version before it stayed in force.">
        {history.length === 0 ? (
          <p className="text-sm text-slate-500">No reloads recorded since the first start.</p>
        ) : (
          <ol className="space-y-4">
            {history.map((entry) => (
              <li key={entry.eventId} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-reload={entry.outcome}>
                <div className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm">
                  <Badge tone={entry.outcome === 'success' ? 'green' : 'red'}>{entry.outcome === 'success' ? 'reloaded' : 'refused'}</Badge>
                  <time dateTime={entry.occurredAt} className="tabular-nums text-slate-700">
                    {formatUtcTimestamp(entry.occurredAt)}
                  </time>
                  <span className="font-mono text-xs text-slate-600">
                    {entry.previousVersion ?? '?'} → {entry.outcome === 'success' ? (entry.version ?? '?') : `${entry.previousVersion ?? '?'} kept`}
                  </span>
                  <span className="text-slate-500">
                    by {entry.by}
                    {entry.file ? ` (${entry.file})` : ''}
                  </span>
                  <Link href={`/audit?from=93d&type=config.reload&event=${entry.eventId}`} className="text-xs font-medium text-indigo-700 underline-offset-2 hover:underline">
                    event
                  </Link>
                </div>
                {entry.error ? <p className="mt-2 text-sm text-rose-800">{entry.error.split('\n')[0]}</p> : null}
                {entry.changes ? (
                  entry.changes.length ? (
                    <ul aria-label="Changes" className="mt-2 space-y-0.5 font-mono text-xs">
                      {entry.changes.map((change) => (
                        <li key={`${change.change}-${change.path}`} className={change.change === 'added' ? 'text-emerald-700' : change.change === 'removed' ? 'text-rose-700' : 'text-amber-800'}>
                          {change.change === 'added' ? '+ ' : change.change === 'removed' ? '- ' : '~ '}
                          {change.path}: {change.change === 'changed' ? `${change.before} → ${change.after}` : (change.after ?? change.before)}
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <p className="mt-2 text-sm text-slate-500">No effective change.</p>
                  )
                ) : entry.outcome === 'success' ? (
                  <p className="mt-2 text-sm text-slate-500">The configurations of this reload were not stored (recorded before Gatehouse kept them).</p>
                ) : null}
              </li>
            ))}
          </ol>
        )}
      </Section>
    </>
  );
}
