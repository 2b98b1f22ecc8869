import { stat, writeFile, readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ForbiddenError } from '@/lib/rbac/errors';
import { bundlesFromFolder, bundlesFromUpload, exportOwnSkills, importSkillBundles, listOwnSkills, skillActorByEmail, type SkillActor } from '@/lib/skills';
import { UserInputError } from '@/lib/users/tenant';
import { CliError } from '../run';
import { withCliDatabase } from './with-database';

const HELP = `Usage:
  gatehouse skills import --user EMAIL PATH
  gatehouse skills export --user EMAIL --out FILE.zip
  gatehouse skills list --user EMAIL [--json]

import  Adds skills to the user's own skills. PATH is a SKILL.md, a folder holding one (or many
        skill folders), or a zip of either. A skill whose name the user already has becomes a
        new version of it (a deleted one is restored); identical ones are left as they are.
        Nothing is imported when any SKILL.md does not validate: each problem is printed
        as file:line. Acts as the user: it needs their skills.write permission.
export  Writes the user's skills as a zip of name/SKILL.md folders (the Agent Skills layout),
        which import (here or in the dashboard) reads back.
list    Prints the user's skills with version, sharing and description.`;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, positionals = false) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: positionals });
  } catch (error) {
    throw new CliError((error as Error).message.split('\n')[0] ?? 'invalid arguments', 2);
  }
}

function asCliError(error: unknown): never {
  if (error instanceof UserInputError || error instanceof ForbiddenError) throw new CliError(error.message);
  throw error;
}

/** Runs `work` as the user named by --user, against the installation's database. */
function asUser<T>(email: string | undefined, work: (actor: SkillActor) => Promise<T>): Promise<T> {
  if (!email) throw new CliError('--user is required', 2);
  return withCliDatabase(async () => work(await skillActorByEmail(email, 'cli'))).catch(asCliError);
}

async function importCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { user: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new CliError('give exactly one PATH: a SKILL.md, a folder or a zip', 2);
  const path = positionals[0]!;
  const info = await stat(path).catch(() => null);
  if (!info) throw new CliError(`${path}: no such file or folder`);
  const results = await asUser(values.user, async (actor) => {
    const bundles = info.isDirectory() ? await bundlesFromFolder(path) : bundlesFromUpload(path, await readFile(path));
    return importSkillBundles(actor, bundles, 'cli');
  });
  for (const result of results) console.log(`${result.outcome.padEnd(9)} ${result.name} (version ${result.version})`);
  return 0;
}

async function exportCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { user: { type: 'string' }, out: { type: 'string' } });
  if (!values.out) throw new CliError('--out FILE.zip is required', 2);
  const { zip, skills } = await asUser(values.user, (actor) => exportOwnSkills(actor));
  await writeFile(values.out, zip);
  console.log(`wrote ${skills.length} skill${skills.length === 1 ? '' : 's'} to ${values.out}`);
  return 0;
}

async function listCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { user: { type: 'string' }, json: { type: 'boolean' } });
  const skills = await asUser(values.user, (actor) => listOwnSkills(actor));
  if (values.json) {
    console.log(JSON.stringify(skills.map((skill) => ({ name: skill.name, version: skill.version, sharing: skill.sharing, department: skill.departmentName, description: skill.description, updated_at: skill.updatedAt.toISOString() })), null, 2));
    return 0;
  }
  if (skills.length === 0) {
    console.log('no skills');
    return 0;
  }
  const rows = skills.map((skill) => [skill.name, `v${skill.version}`, skill.sharing === 'department' ? `department:${skill.departmentName ?? '?'}` : skill.sharing, skill.description.replace(/\s+/g, ' ').slice(0, 80)]);
  const header = ['NAME', 'VERSION', 'SHARED', 'DESCRIPTION'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  console.log([header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n'));
  return 0;
}

export async function skillsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || rest.includes('--help') || rest.includes('-h')) {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  if (sub === 'import') return importCommand(rest);
  if (sub === 'export') return exportCommand(rest);
  if (sub === 'list') return listCommand(rest);
  throw new CliError(`unknown skills command "${sub}" (try gatehouse skills --help)`, 2);
}
