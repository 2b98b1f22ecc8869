import { parseArgs, type ParseArgsConfig } from 'node:util';
import { linkSsoIdentity } from '@/lib/auth/sso-identities';
import { UserInputError } from '@/lib/users/tenant';
import { revokeUser } from '@/lib/users/revoke';
import { createUser, listUsers, type UserSummary } from '@/lib/users/users';
import { CliError } from '../run';
import { withCliDatabase } from './with-database';

const HELP = `Usage:
  gatehouse users create --email EMAIL --name NAME [--department DEPT] [--role ROLE ...] [--password PASSWORD]
  gatehouse users list [--json]
  gatehouse users revoke --email EMAIL
  gatehouse users link-sso --email EMAIL --provider ID --issuer ISSUER --subject SUBJECT

create  Adds a local account. --role may repeat (default: member); built-in roles are
        admin, security, finance, author and member. Without --password a password is
        generated and printed once.
list    Prints every user with department, roles, status and last sign-in.
revoke  Disables the account and ends all its sessions in one update: the next token refresh
        fails and existing access tokens are refused within seconds.
link-sso  Lets an existing account sign in through single sign-on: binds the identity-provider
        account (issuer and subject) to it. Single sign-on never takes over an existing account
        by its email address; when it refuses one, the auth.sign_in event in the audit log
        carries this command, filled in. A password, if the account has one, keeps working.`;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new CliError((error as Error).message.split('\n')[0] ?? 'invalid arguments', 2);
  }
}

async function create(args: string[]): Promise<number> {
  const { values } = parse(args, {
    email: { type: 'string' },
    name: { type: 'string' },
    department: { type: 'string' },
    role: { type: 'string', multiple: true },
    password: { type: 'string' },
  });
  if (!values.email) throw new CliError('--email is required', 2);
  if (!values.name) throw new CliError('--name is required', 2);
  const input = {
    email: String(values.email),
    name: String(values.name),
    department: values.department === undefined ? undefined : String(values.department),
    roles: Array.isArray(values.role) && values.role.length > 0 ? values.role.map(String) : undefined,
    password: values.password === undefined ? undefined : String(values.password),
  };
  const created = await withCliDatabase(() => createUser(input, { call_source: 'cli' }, { generatePasswordIfMissing: true })).catch(asCliError);
  console.log(`created user ${created.email} (${created.id})`);
  if (created.generatedPassword) console.log(`password: ${created.generatedPassword}   (shown once)`);
  return 0;
}

function formatTable(users: UserSummary[]): string {
  const rows = users.map((u) => [u.email, u.name, u.department ?? '-', u.roles.join(',') || '-', u.status, u.lastSignInAt?.toISOString() ?? 'never']);
  const header = ['EMAIL', 'NAME', 'DEPARTMENT', 'ROLES', 'STATUS', 'LAST SIGN-IN'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

function asCliError(error: unknown): never {
  throw error instanceof UserInputError ? new CliError(error.message) : error;
}

async function revoke(args: string[]): Promise<number> {
  const { values } = parse(args, { email: { type: 'string' } });
  if (!values.email) throw new CliError('--email is required', 2);
  const revoked = await withCliDatabase(() => revokeUser(String(values.email), { call_source: 'cli' })).catch(asCliError);
  console.log(`revoked ${revoked.email}: account disabled, ${revoked.sessionsRevoked} session(s) ended`);
  return 0;
}

async function linkSso(args: string[]): Promise<number> {
  const { values } = parse(args, { email: { type: 'string' }, provider: { type: 'string' }, issuer: { type: 'string' }, subject: { type: 'string' } });
  for (const name of ['email', 'provider', 'issuer', 'subject'] as const) if (!values[name]) throw new CliError(`--${name} is required`, 2);
  const input = { email: String(values.email), providerId: String(values.provider), issuer: String(values.issuer), subject: String(values.subject) };
  const linked = await withCliDatabase(() => linkSsoIdentity(input, { call_source: 'cli' })).catch(asCliError);
  console.log(`linked ${linked.email} to ${input.subject} at ${input.issuer}: single sign-on through ${input.providerId} now signs in as this account`);
  return 0;
}

async function list(args: string[]): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } });
  const users = await withCliDatabase(listUsers);
  console.log(values.json ? JSON.stringify(users, null, 2) : users.length ? formatTable(users) : 'no users');
  return 0;
}

export async function usersCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || rest.includes('--help') || rest.includes('-h')) {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  if (sub === 'create') return create(rest);
  if (sub === 'list') return list(rest);
  if (sub === 'revoke') return revoke(rest);
  if (sub === 'link-sso') return linkSso(rest);
  throw new CliError(`unknown users command "${sub}" (try gatehouse users --help)`, 2);
}
