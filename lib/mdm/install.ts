import { build } from 'plist';
import { posixNodeCommand, posixQuote } from '@/lib/platform/shell';
import { gatewayUrlOf, type RolloutContext } from './profile';

// What the Rollout page tells IT to put on employees' machines besides the profiles: the helper
// (and its Windows launcher), and a schedule for the plugin sync agent. Generated from the same
// settings as the profiles, so the paths always agree with them.

const SYNC_INTERVAL_SECONDS = 300;

function windowsDirectory(file: string): string {
  return file.slice(0, file.lastIndexOf('\\'));
}

/** Where the sync agent goes: beside the helper. */
function syncAgentPath(context: RolloutContext): string {
  return `${context.settings.helperPath.slice(0, context.settings.helperPath.lastIndexOf('/'))}/gatehouse-sync`;
}

export function helperInstallSteps(context: RolloutContext): { macos: string; linux: string; windows: string } {
  const posix = context.settings.helperPath;
  const gateway = gatewayUrlOf(context);
  // The bundle's `#!/usr/bin/env node` becomes the administrator's Node: a program that runs the
  // helper by its path (Claude Desktop) must not find the person's own `node` first on PATH.
  const shebang = posixQuote(`1s|.*|#!${context.settings.nodePath}|`);
  const unix = [`sed ${shebang} gatehouse-helper > gatehouse-helper.installed && sudo install -m 0755 gatehouse-helper.installed ${posixQuote(posix)}`, `${posixQuote(posix)} login --server ${posixQuote(gateway)}   # as the employee, once`].join('\n');
  const dir = windowsDirectory(context.settings.helperPathWindows);
  return {
    macos: unix,
    linux: unix,
    windows: [
      `New-Item -ItemType Directory -Force '${dir}'`,
      `Copy-Item gatehouse-helper '${dir}\\gatehouse-helper.cjs'`,
      `Set-Content -Encoding ascii '${context.settings.helperPathWindows}' (Get-Content gatehouse-helper.cmd)`,
      `& '${context.settings.helperPathWindows}' login --server ${gateway}   # as the employee, once`,
    ].join('\n'),
  };
}

/**
 * Claude Desktop runs an executable on Windows: this launcher starts the helper with the
 * administrator's node.exe (not one found on the person's PATH) and without NODE_OPTIONS, which
 * could --require code deciding what the helper prints.
 */
export function windowsLauncher(context: RolloutContext): string {
  return ['@echo off', 'setlocal', 'set NODE_OPTIONS=', 'set NODE_TLS_REJECT_UNAUTHORIZED=', 'set NODE_EXTRA_CA_CERTS=', 'set NODE_PATH=', `"${context.settings.nodePathWindows}" "%~dp0gatehouse-helper.cjs" %*`, ''].join('\r\n');
}

/** The sync agent's command for one run: a fresh token from the helper, then one sync. */
function syncCommand(context: RolloutContext): string {
  const server = posixQuote(gatewayUrlOf(context));
  return `GATEHOUSE_TOKEN="$(${posixQuote(context.settings.helperPath)} --server ${server})" exec ${posixNodeCommand(context.settings.nodePath, syncAgentPath(context))} --server ${server} --once`;
}

export function launchdAgent(context: RolloutContext, tenantSlug: string): string {
  return build({
    Label: `gatehouse.${tenantSlug}.plugin-sync`,
    ProgramArguments: ['/bin/sh', '-c', syncCommand(context)],
    StartInterval: SYNC_INTERVAL_SECONDS,
    RunAtLoad: true,
    StandardErrorPath: '/tmp/gatehouse-sync.log',
  });
}

export function systemdUnits(context: RolloutContext): { service: string; timer: string } {
  return {
    service: ['[Unit]', 'Description=Gatehouse plugin sync', '', '[Service]', 'Type=oneshot', `ExecStart=/bin/sh -c ${posixQuote(syncCommand(context))}`, ''].join('\n'),
    timer: ['[Unit]', 'Description=Gatehouse plugin sync every five minutes', '', '[Timer]', 'OnStartupSec=1min', `OnUnitActiveSec=${SYNC_INTERVAL_SECONDS}s`, '', '[Install]', 'WantedBy=timers.target', ''].join('\n'),
  };
}

function xmlEscape(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

export function taskSchedulerXml(context: RolloutContext): string {
  const gateway = gatewayUrlOf(context);
  const helper = context.settings.helperPathWindows;
  const agent = `${windowsDirectory(helper)}\\gatehouse-sync.cjs`;
  const script = `$env:NODE_OPTIONS = $null; $env:GATEHOUSE_TOKEN = & '${helper}' --server ${gateway}; & '${context.settings.nodePathWindows}' '${agent}' --server ${gateway} --once`;
  return `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo><Description>Gatehouse plugin sync</Description></RegistrationInfo>
  <Triggers>
    <LogonTrigger><Enabled>true</Enabled><Repetition><Interval>PT${SYNC_INTERVAL_SECONDS / 60}M</Interval><StopAtDurationEnd>false</StopAtDurationEnd></Repetition></LogonTrigger>
  </Triggers>
  <Principals><Principal id="Author"><LogonType>InteractiveToken</LogonType><RunLevel>LeastPrivilege</RunLevel></Principal></Principals>
  <Settings><MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy><ExecutionTimeLimit>PT10M</ExecutionTimeLimit><Hidden>true</Hidden></Settings>
  <Actions Context="Author">
    <Exec><Command>powershell.exe</Command><Arguments>-NoProfile -NonInteractive -Command "${xmlEscape(script.replaceAll('"', '\\"'))}"</Arguments></Exec>
  </Actions>
</Task>
`;
}
