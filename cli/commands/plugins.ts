import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { actorByEmail, defaultAdminActor, listAllPlugins } from '@/lib/plugins/catalog';
import type { PluginActor } from '@/lib/plugins/events';
import { approveVersion, entitle, rejectVersion, revokePlugin, withdrawVersion, type EntitlementTarget } from '@/lib/plugins/lifecycle';
import { publishVersion } from '@/lib/plugins/lifecycle';
import { formatIssue, PluginUploadError } from '@/lib/plugins/limits';
import { versionByName } from '@/lib/plugins/store';
import { pluginFromDirectory, pluginFromZip } from '@/lib/plugins/upload';
import { ForbiddenError } from '@/lib/rbac';
import { activeOrgPublicJwk, orgKeyDocument, RETIRED_KEY_OVERLAP_MS, rotateOrgKey } from '@/lib/signing';
import { CliError } from '../run';
import { withCliDatabase } from './with-database';

const HELP = `Usage:
  gatehouse plugins publish DIR_OR_ZIP --as EMAIL [--changelog TEXT]
  gatehouse plugins approve NAME@VERSION --as EMAIL [--comment TEXT]
  gatehouse plugins reject NAME@VERSION --as EMAIL --comment TEXT
  gatehouse plugins entitle NAME (--department D | --role R | --user EMAIL | --everyone) [--remove] [--as EMAIL]
  gatehouse plugins withdraw NAME@VERSION --reason TEXT [--as EMAIL]
  gatehouse plugins revoke NAME --reason TEXT [--as EMAIL]
  gatehouse plugins list [--json]
  gatehouse plugins org-key [--all]
  gatehouse plugins rotate-key

publish   Validates a plugin folder or ZIP and submits it for review as EMAIL (a draft).
approve   Approves a pending version as EMAIL (a reviewer other than its author) and signs it.
entitle   Makes the plugin part of the entitled set of a department, role, user or everyone.
withdraw  Takes an approved version off every device at its next sync (reason recorded).
revoke    Takes the whole plugin off every device; it accepts no new versions.
org-key   Prints the organisation public key (JWK Set) to pin on devices (--org-key of gatehouse-sync).
rotate-key Starts signing with a new organisation key, endorsed by the current one.

Without --as, entitle, withdraw and revoke act as the earliest tenant-wide administrator.
Every change is checked against the actor's roles and recorded in the audit log.`;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new CliError((error as Error).message.split('\n')[0] ?? 'invalid arguments', 2);
  }
}

function nameAndVersion(value: string | undefined): { name: string; version: string } {
  const match = /^([a-z0-9-]+)@(.+)$/.exec(value ?? '');
  if (!match) throw new CliError('expected NAME@VERSION, like acme-tools@1.2.0', 2);
  return { name: match[1]!, version: match[2]! };
}

function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new CliError(`expected one ${what}`, 2);
  return positionals[0]!;
}

async function actor(email: string | undefined, required: boolean): Promise<PluginActor> {
  if (email) return actorByEmail(email, 'cli');
  if (required) throw new CliError('--as EMAIL is required (the change is made, checked and recorded as that user)', 2);
  return defaultAdminActor();
}

/** Runs a lifecycle change, turning refusals into one-line CLI errors. */
async function run(work: () => Promise<void>): Promise<number> {
  try {
    await withCliDatabase(work);
    return 0;
  } catch (error) {
    if (error instanceof PluginUploadError) throw new CliError(`the plugin was refused:\n${error.issues.map((issue) => `  ${formatIssue(issue)}`).join('\n')}`);
    if (error instanceof ForbiddenError) throw new CliError(`refused: that needs ${error.permission}${error.departmentId ? ' for the plugin’s department' : ''}`);
    throw error;
  }
}

async function publish(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { as: { type: 'string' }, changelog: { type: 'string' } });
  const source = path.resolve(process.env.GATEHOUSE_CLI_CWD ?? process.cwd(), onePositional(positionals, 'plugin folder or ZIP'));
  const kind = await stat(source).catch(() => null);
  if (!kind) throw new CliError(`${source} does not exist`);
  return run(async () => {
    const plugin = kind.isDirectory() ? await pluginFromDirectory(source) : pluginFromZip(await readFile(source));
    const result = await publishVersion(await actor(values.as, true), plugin, { changelog: values.changelog ?? '' });
    console.log(`submitted ${result.name}@${result.version} for review (version ${result.versionId}, trace ${result.traceId})`);
  });
}

async function decide(args: string[], approve: boolean): Promise<number> {
  const { values, positionals } = parse(args, { as: { type: 'string' }, comment: { type: 'string' } });
  const { name, version } = nameAndVersion(onePositional(positionals, 'NAME@VERSION'));
  return run(async () => {
    const who = await actor(values.as, true);
    const row = await versionByName(who.tenantId, name, version);
    if (!row) throw new CliError(`no version ${version} of ${name}`);
    if (approve) {
      const result = await approveVersion(who, row.id, values.comment ?? '');
      console.log(`approved and signed ${name}@${version} with organisation key ${result.kid} (trace ${result.traceId})`);
    } else {
      const result = await rejectVersion(who, row.id, values.comment ?? '');
      console.log(`rejected ${name}@${version} (trace ${result.traceId})`);
    }
  });
}

async function entitleCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    as: { type: 'string' },
    department: { type: 'string' },
    role: { type: 'string' },
    user: { type: 'string' },
    everyone: { type: 'boolean' },
    remove: { type: 'boolean' },
  });
  const name = onePositional(positionals, 'plugin name');
  const targets: EntitlementTarget[] = [
    ...(values.department ? [{ kind: 'department' as const, value: values.department }] : []),
    ...(values.role ? [{ kind: 'role' as const, value: values.role }] : []),
    ...(values.user ? [{ kind: 'user' as const, value: values.user }] : []),
    ...(values.everyone ? [{ kind: 'everyone' as const }] : []),
  ];
  if (targets.length !== 1) throw new CliError('name exactly one of --department, --role, --user or --everyone', 2);
  return run(async () => {
    const result = await entitle(await actor(values.as, false), name, targets[0]!, values.remove ?? false);
    console.log(`${values.remove ? 'removed the entitlement of' : 'entitled'} ${result.label} ${values.remove ? 'to' : 'to'} ${name} (trace ${result.traceId})`);
  });
}

async function withdraw(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { as: { type: 'string' }, reason: { type: 'string' } });
  const { name, version } = nameAndVersion(onePositional(positionals, 'NAME@VERSION'));
  if (!values.reason) throw new CliError('--reason is required', 2);
  return run(async () => {
    const result = await withdrawVersion(await actor(values.as, false), name, version, values.reason!);
    console.log(`withdrew ${name}@${version}: devices remove it at their next sync (trace ${result.traceId})`);
  });
}

async function revoke(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { as: { type: 'string' }, reason: { type: 'string' } });
  const name = onePositional(positionals, 'plugin name');
  if (!values.reason) throw new CliError('--reason is required', 2);
  return run(async () => {
    const result = await revokePlugin(await actor(values.as, false), name, values.reason!);
    console.log(`revoked ${name} with all its versions (trace ${result.traceId})`);
  });
}

async function list(args: string[]): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } });
  return run(async () => {
    const admin = await defaultAdminActor().catch(() => null);
    if (!admin) throw new CliError('no tenant administrator found: nothing to list against');
    const plugins = await listAllPlugins(admin.tenantId);
    if (values.json) {
      console.log(JSON.stringify(plugins, null, 2));
      return;
    }
    if (plugins.length === 0) console.log('no plugins yet (gatehouse plugins publish DIR --as EMAIL)');
    for (const plugin of plugins) {
      console.log(`${plugin.name}  ${plugin.status}  latest approved: ${plugin.latest ?? '-'}  entitled: ${plugin.entitlements.join(', ') || '-'}`);
      for (const version of plugin.versions) console.log(`  ${version.version}  ${version.status}  ${version.createdAt.toISOString()}`);
    }
  });
}

async function orgKey(args: string[]): Promise<number> {
  const { values } = parse(args, { all: { type: 'boolean' } });
  return run(async () => {
    const document = values.all ? { keys: (await orgKeyDocument()).keys } : { keys: [await activeOrgPublicJwk()] };
    console.log(JSON.stringify(document, null, 2));
  });
}

async function rotateKey(args: string[]): Promise<number> {
  parse(args, {});
  return run(async () => {
    const result = await rotateOrgKey();
    console.log(`new organisation key ${result.kid}; endorsed by ${result.previous}, which stays published for ${RETIRED_KEY_OVERLAP_MS / 86_400_000} days (and while approved plugin versions it signed are in use)`);
  });
}

export async function pluginsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || rest.includes('--help') || rest.includes('-h')) {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  const commands: Record<string, (args: string[]) => Promise<number>> = {
    publish,
    approve: (rest_) => decide(rest_, true),
    reject: (rest_) => decide(rest_, false),
    entitle: entitleCommand,
    withdraw,
    revoke,
    list,
    'org-key': orgKey,
    'rotate-key': rotateKey,
  };
  const command = commands[sub];
  if (!command) throw new CliError(`unknown plugins command "${sub}" (try gatehouse plugins --help)`, 2);
  return command(rest);
}
