import type { Metadata } from 'next';
import { ActionForm } from '@/components/admin/ActionForm';
import { Hidden, SelectField, TextAreaField, TextField } from '@/components/admin/fields';
import { Section } from '@/components/admin/Section';
import { SECONDARY_BUTTON } from '@/components/admin/styles';
import { CopyField } from '@/components/connect/CopyField';
import { AccessDenied } from '@/components/layout/AccessDenied';
import { PageHeader } from '@/components/layout/PageHeader';
import { MachinesTable } from '@/components/rollout/MachinesTable';
import { dashboardPrincipal, requireDashboardUser } from '@/lib/auth/session';
import { clientBundle, CLIENT_PROGRAMS } from '@/lib/mdm/admin';
import { machineSettingsStates } from '@/lib/mdm/checksums';
import { CLAUDE_CODE_SETTINGS_PATHS, claudeCodeManagedSettings, claudeCodeSettingsFile } from '@/lib/mdm/claude-code';
import { rolloutContext } from '@/lib/mdm/context';
import { helperInstallSteps } from '@/lib/mdm/install';
import { desktopPolicy, gatewayUrlOf } from '@/lib/mdm/profile';
import { loadRolloutSettings } from '@/lib/mdm/settings';
import { authorize } from '@/lib/rbac/authorize';
import { saveRolloutSettingsAction } from './actions';

export const metadata: Metadata = { title: 'Rollout' };
export const dynamic = 'force-dynamic';

function Download({ file, children }: { file: string; children: React.ReactNode }) {
  return (
    <a href={`/rollout/download/${file}`} download className={SECONDARY_BUTTON}>
      {children}
    </a>
  );
}

export default async function RolloutPage() {
  const user = await requireDashboardUser('/rollout');
  if (!(await authorize(dashboardPrincipal(user), 'policy.admin'))) return <AccessDenied permission="policy.admin" />;
  const stored = await loadRolloutSettings(user.tenantId);
  const context = await rolloutContext(user.tenantId, { settings: stored.settings });
  const { settings } = stored;
  const gateway = gatewayUrlOf(context);
  const machines = await machineSettingsStates(user.tenantId);
  let policy: Record<string, string> = {};
  let claudeCode = '';
  let problem: string | null = null;
  try {
    policy = desktopPolicy(context);
    claudeCode = claudeCodeSettingsFile(claudeCodeManagedSettings(context));
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  const steps = helperInstallSteps(context);
  const bundles = CLIENT_PROGRAMS.map((name) => ({ name, bundle: clientBundle(name) }));
  const counts = { current: 0, outdated: 0, unmanaged: 0 };
  for (const machine of machines) counts[machine.state] += 1;

  return (
    <>
      <PageHeader
        title="Rollout"
        description="Put Claude Desktop (Cowork) and Claude Code on employees’ machines already pointed at this gateway: device-management profiles, Claude Code’s managed settings, and the credential helper. Files are generated from the live configuration when you download them."
      />
      <div className="space-y-6">
        {problem ? (
          <p role="alert" className="rounded-md border border-rose-200 bg-rose-50 px-3 py-2 text-sm text-rose-800">
            The profiles cannot be generated from the current configuration: {problem}
          </p>
        ) : null}

        <Section title="Settings" description={`Version ${stored.version}${stored.updatedAt ? `, saved ${stored.updatedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC` : ' (defaults, never saved)'}. Models, token lifetimes and the organisation’s name come from the configuration.`}>
          <ActionForm action={saveRolloutSettingsAction} label="Rollout settings" submitLabel="Save settings" pendingLabel="Saving…">
            <Hidden name="version" value={String(stored.version)} />
            <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
              <TextField label="Gateway URL" name="gatewayUrl" defaultValue={settings.gatewayUrl} placeholder={context.publicUrl} hint={`What devices connect to (https). Empty: this server’s public URL, ${context.publicUrl}.`} />
              <SelectField
                label="Claude Code signs in"
                name="claudeCodeSignIn"
                defaultValue={settings.claudeCodeSignIn}
                options={[
                  { value: 'gateway', label: 'Through the gateway (/login in Claude Code)' },
                  { value: 'helper', label: 'With gatehouse-helper (apiKeyHelper)' },
                ]}
              />
              <SelectField
                label="Claude Code governance hooks"
                name="claudeCodeGovernanceHooks"
                defaultValue={settings.claudeCodeGovernanceHooks}
                options={[
                  { value: 'off', label: 'Off' },
                  { value: 'on', label: 'On: every tool call asks Gatehouse first (managed hooks only)' },
                ]}
                hint="With helper sign-in the hooks run gatehouse-helper and use its sign-in. With gateway sign-in they are HTTP hooks that need GATEHOUSE_TOKEN set in Claude Code’s environment on each device."
              />
              <TextField label="Helper path on macOS and Linux" name="helperPath" defaultValue={settings.helperPath} required />
              <TextField label="Helper path on Windows" name="helperPathWindows" defaultValue={settings.helperPathWindows} required />
              <TextField label="Node on macOS and Linux (administrator-owned)" name="nodePath" defaultValue={settings.nodePath} required />
              <TextField label="Node on Windows (administrator-owned)" name="nodePathWindows" defaultValue={settings.nodePathWindows} required />
            </div>
            <TextAreaField label="Instructions for Claude" name="organizationInstructions" defaultValue={settings.organizationInstructions} rows={3} hint="Added to Claude’s system prompt in Desktop and Cowork (up to 3,000 characters). Guidance, not an enforced control." />
            <TextAreaField label="Extension-signing CA (PEM)" name="extensionSigningCaPem" defaultValue={settings.extensionSigningCaPem} rows={3} monospace hint="Installed by the macOS profile so extensions your organisation signs are trusted; unsigned ones are refused." />
            <TextAreaField
              label="Other Desktop keys (JSON)"
              name="extraDesktopKeys"
              defaultValue={Object.keys(settings.extraDesktopKeys).length ? JSON.stringify(settings.extraDesktopKeys, null, 2) : ''}
              rows={4}
              monospace
              placeholder={'{"mcpToolTimeoutSec": 600, "chatSessionRetentionDays": 90}'}
              hint="Any Claude Desktop managed key, checked against the app’s key table; these win over the generated values."
            />
          </ActionForm>
        </Section>

        <Section
          title="Claude Desktop and Cowork"
          description="Third-party inference through this gateway, credentials from gatehouse-helper, no login-mode chooser, no local MCP servers or unsigned extensions. Every value is stored as a string, as Desktop requires."
          actions={
            <div className="flex flex-wrap gap-2">
              <Download file="desktop-mobileconfig">macOS profile (.mobileconfig)</Download>
              <Download file="desktop-mobileconfig?extensionCa=1">macOS profile with the extension CA</Download>
              <Download file="desktop-reg-hkcu">Windows, per user (.reg)</Download>
              <Download file="desktop-reg-hklm">Windows, per machine (.reg)</Download>
            </div>
          }
        >
          <div className="mb-4 space-y-2">
            <p className="text-sm text-slate-600">
              Desktop extensions (.mcpb) signed with <code>gatehouse mcp bundle sign</code> install only where the organisation’s extension CA is trusted: the second macOS profile carries it as a trusted root
              certificate; on Windows import the .cer into Trusted Root Certification Authorities (Group Policy, Intune, or <code>certutil -addstore Root</code>).
            </p>
            <div className="flex flex-wrap gap-2">
              <Download file="extension-signing-ca.pem">CA certificate (.pem)</Download>
              <Download file="extension-signing-ca.cer">CA certificate (.cer)</Download>
            </div>
          </div>
          <dl aria-label="Claude Desktop policy" className="divide-y divide-slate-100 text-xs">
            {Object.entries(policy).map(([key, value]) => (
              // Wide enough for the longest key (inferenceCredentialHelperSilentRefreshEnabled); a longer one wraps rather than running into its value.
              <div key={key} className="grid grid-cols-1 gap-x-4 py-1.5 sm:grid-cols-[minmax(0,22rem)_minmax(0,1fr)]">
                <dt className="break-all font-mono text-slate-500 sm:text-slate-700">{key}</dt>
                <dd className="break-all font-mono text-slate-900">{value}</dd>
              </div>
            ))}
          </dl>
        </Section>

        <Section
          title="Claude Code"
          description={`managed-settings.json goes to ${CLAUDE_CODE_SETTINGS_PATHS.macos} (macOS), ${CLAUDE_CODE_SETTINGS_PATHS.linux} (Linux) or ${CLAUDE_CODE_SETTINGS_PATHS.windows}; the .reg sets the same JSON in HKLM\\SOFTWARE\\Policies\\ClaudeCode.`}
          actions={
            <div className="flex flex-wrap gap-2">
              <Download file="claude-code-json">managed-settings.json</Download>
              <Download file="claude-code-reg-hklm">Windows registry (.reg)</Download>
            </div>
          }
        >
          <pre aria-label="Claude Code managed settings" className="max-h-96 overflow-auto rounded-md bg-slate-950 p-4 text-xs text-slate-100">
            {claudeCode}
          </pre>
        </Section>

        <Section title="On each machine" description={`The helper prints the employee’s token for Claude; the sync agent keeps their entitled plugins in place. Both need Node.js 20 or later. Employees sign in once against ${gateway}.`}>
          <div className="space-y-4">
            <ul className="space-y-2 text-sm">
              {bundles.map(({ name, bundle }) => (
                <li key={name} className="flex flex-wrap items-center gap-3">
                  {bundle ? (
                    <>
                      <Download file={name}>{name}</Download>
                      <span className="break-all font-mono text-xs text-slate-600">
                        sha256 {bundle.sha256} · {Math.round(bundle.bytes / 1024)} KB
                      </span>
                    </>
                  ) : (
                    <span className="text-slate-600">
                      {name} is not built on this server yet: run <code>npm run build:clients</code>.
                    </span>
                  )}
                </li>
              ))}
            </ul>
            <div className="grid grid-cols-1 gap-4">
              <CopyField label="Install on macOS" value={steps.macos} multiline />
              <CopyField label="Install on Linux" value={steps.linux} multiline />
              <CopyField label="Install on Windows (PowerShell as administrator)" value={steps.windows} multiline />
            </div>
            <div className="flex flex-wrap gap-2">
              <Download file="gatehouse-helper.cmd">Windows launcher (.cmd)</Download>
              <Download file="gatehouse-sync.plist">Sync schedule: launchd</Download>
              <Download file="gatehouse-sync.service">systemd service</Download>
              <Download file="gatehouse-sync.timer">systemd timer</Download>
              <Download file="gatehouse-sync-task.xml">Task Scheduler</Download>
            </div>
          </div>
        </Section>

        <Section
          title="Machines"
          description={`Claude Code sessions of the last 14 days and the managed settings they report: ${counts.current} current, ${counts.outdated} outdated, ${counts.unmanaged} without managed settings. Clients compute this themselves, so it finds machines to fix; it proves nothing.`}
        >
          <MachinesTable machines={machines.map((machine) => ({ ...machine, lastSeenAt: machine.lastSeenAt.toISOString() }))} />
        </Section>
      </div>
    </>
  );
}
