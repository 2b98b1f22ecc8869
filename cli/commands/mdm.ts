import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readRuntimeInfo } from '@/lib/db/server';
import { generateArtifact, type ArtifactKind } from '@/lib/mdm/artifacts';
import { rolloutContext } from '@/lib/mdm/context';
import { validateRolloutSettings, loadRolloutSettings } from '@/lib/mdm/settings';
import { systemTenantId } from '@/lib/config';
import { publicUrl } from '@/lib/platform/public-url';
import { UserInputError } from '@/lib/users/tenant';
import { CliError } from '../run';
import { withCliDatabase } from './with-database';

const HELP = `Usage:
  gatehouse mdm macos [--extension-ca] [--out FILE]      Claude Desktop profile (.mobileconfig); --extension-ca
                                                         also installs the organisation's desktop-extension CA
                                                         as a trusted root and requires signed extensions
  gatehouse mdm windows [--hive hkcu|hklm] [--out FILE]  Claude Desktop policy (.reg, UTF-16, REG_SZ)
  gatehouse mdm claude-code [--sign-in gateway|helper] [--format json|reg] [--out FILE]
                                                         Claude Code managed settings: managed-settings.json for
                                                         /Library/Application Support/ClaudeCode/, /etc/claude-code/
                                                         or C:\\Program Files\\ClaudeCode\\ (json), or the
                                                         HKLM\\SOFTWARE\\Policies\\ClaudeCode Settings value (reg)

Built from the live configuration and the Rollout page's settings (the dashboard's /rollout),
for the installation's tenant. --sign-in overrides the page's choice for this file only. Without
--out a text file goes to stdout; a .reg or profile needs --out.`;

const KINDS = ['macos', 'windows', 'claude-code'] as const;

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      options: { out: { type: 'string' }, 'extension-ca': { type: 'boolean' }, hive: { type: 'string' }, 'sign-in': { type: 'string' }, format: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new CliError(`${(error as Error).message.split('\n')[0]} (try gatehouse mdm --help)`, 2);
  }
}

function artifactKind(target: (typeof KINDS)[number], values: ReturnType<typeof parse>['values']): ArtifactKind {
  if (target === 'macos') return 'desktop-mobileconfig';
  if (target === 'windows') {
    const hive = values.hive ?? 'hkcu';
    if (hive !== 'hkcu' && hive !== 'hklm') throw new CliError(`--hive must be hkcu or hklm (got "${hive}")`, 2);
    return hive === 'hkcu' ? 'desktop-reg-hkcu' : 'desktop-reg-hklm';
  }
  const format = values.format ?? 'json';
  if (format !== 'json' && format !== 'reg') throw new CliError(`--format must be json or reg (got "${format}")`, 2);
  return format === 'json' ? 'claude-code-json' : 'claude-code-reg-hklm';
}

export async function mdmCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args);
  const [target, ...extra] = positionals;
  if (!target || values.help) {
    console.log(HELP);
    return target || values.help ? 0 : 2;
  }
  if (!KINDS.includes(target as (typeof KINDS)[number])) throw new CliError(`unknown mdm target "${target}" (macos, windows or claude-code)`, 2);
  if (extra.length) throw new CliError(`unexpected argument "${extra[0]}" (try gatehouse mdm --help)`, 2);
  const signIn = values['sign-in'];
  if (signIn !== undefined && signIn !== 'gateway' && signIn !== 'helper') throw new CliError(`--sign-in must be gateway or helper (got "${signIn}")`, 2);
  const kind = artifactKind(target as (typeof KINDS)[number], values);
  if (values['extension-ca'] && kind !== 'desktop-mobileconfig') throw new CliError('--extension-ca is for the macOS profile (for Windows: gatehouse mcp bundle ca --der --out ca.cer)', 2);
  if (kind !== 'claude-code-json' && !values.out) throw new CliError(`a ${kind.includes('reg') ? '.reg file' : 'profile'} is not text for a terminal: give --out FILE`, 2);

  const artifact = await withCliDatabase(async () => {
    const tenantId = await systemTenantId();
    if (!tenantId) throw new CliError('no tenant yet: start Gatehouse once (npm start) so it creates one');
    const stored = (await loadRolloutSettings(tenantId)).settings;
    const settings = signIn ? validateRolloutSettings({ ...stored, claudeCodeSignIn: signIn }) : stored;
    const context = await rolloutContext(tenantId, { settings, publicUrl: readRuntimeInfo()?.publicUrl ?? publicUrl() });
    return generateArtifact(context, kind, { organisationExtensionCa: values['extension-ca'] });
  }).catch((error) => {
    throw error instanceof UserInputError ? new CliError(error.message) : error;
  });
  if (!values.out) {
    process.stdout.write(artifact.body);
    return 0;
  }
  const out = path.resolve(process.env.GATEHOUSE_CLI_CWD ?? process.cwd(), values.out);
  try {
    writeFileSync(out, artifact.body);
  } catch (error) {
    throw new CliError(`cannot write ${out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  console.error(`wrote ${out} (${artifact.body.length} bytes)`);
  return 0;
}
