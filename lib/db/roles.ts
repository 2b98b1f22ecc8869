import pg from 'pg';
import { poolConfigFromUrl } from './connection';
import { APP_ROLE } from './pool';

/**
 * The application's database role. The app logs in as a role that holds only what it needs
 * (gatehouse_app's grants: read, append audit rows, ordinary table writes); the migration role
 * owns the schema. A login role that could become a superuser or the owner could switch off the
 * append-only triggers and rewrite the audit trail, so start refuses one unless told otherwise.
 */

export const ALLOW_PRIVILEGED_ROLE_VARIABLE = 'GATEHOUSE_ALLOW_PRIVILEGED_DB_ROLE';
export const MIGRATION_URL_VARIABLE = 'GATEHOUSE_MIGRATION_DATABASE_URL';
export const ROLE_GUIDE = 'README, "Audit integrity and the database role"';

type EnvSource = Record<string, string | undefined>;

export function privilegedRoleAllowed(source: EnvSource = process.env): boolean {
  return ['1', 'true', 'yes'].includes((source[ALLOW_PRIVILEGED_ROLE_VARIABLE] ?? '').toLowerCase());
}

/**
 * The URL migrations run with when DATABASE_URL is the operator's: GATEHOUSE_MIGRATION_DATABASE_URL,
 * or DATABASE_URL itself only when a privileged app role is explicitly allowed. Undefined when
 * neither applies (the app's role cannot migrate).
 */
export function migrationDatabaseUrl(source: EnvSource = process.env): string | undefined {
  if (source[MIGRATION_URL_VARIABLE]) return source[MIGRATION_URL_VARIABLE];
  return privilegedRoleAllowed(source) ? source.DATABASE_URL || undefined : undefined;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...poolConfigFromUrl(url), application_name: 'gatehouse-roles' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const DUPLICATE_OBJECT = '42710';
const UNIQUE_VIOLATION = '23505';

/**
 * Makes the application role able to log in, creating it when missing, with `password` when
 * given (the embedded cluster needs one; a trust-auth server does not). Additive and idempotent:
 * it never drops the role or removes a grant, so concurrent test runs and earlier installs that
 * share the role keep working. Run as a role with CREATEROLE (the embedded superuser).
 */
export async function ensureAppLoginRole(adminUrl: string, password?: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    const role = client.escapeIdentifier(APP_ROLE);
    const withPassword = password ? ` PASSWORD ${client.escapeLiteral(password)}` : '';
    // Least privilege spelled out, so an existing role with more is brought down to it.
    const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS${withPassword}`;
    await client.query('BEGIN');
    try {
      // Serialises callers on this database; a caller on another database may still race the
      // CREATE, which is why a duplicate is taken as success below.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('gatehouse:app-login-role'))");
      const { rows } = await client.query<{ ready: boolean }>(
        `SELECT rolcanlogin AND NOT (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls) AS ready
           FROM pg_roles WHERE rolname = $1`,
        [APP_ROLE],
      );
      if (rows.length === 0) await client.query(`CREATE ROLE ${role} ${attributes}`);
      else if (!rows[0]!.ready || password) await client.query(`ALTER ROLE ${role} ${attributes}`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      const code = (error as { code?: string }).code;
      if (code !== DUPLICATE_OBJECT && code !== UNIQUE_VIOLATION) throw error;
      await client.query(`ALTER ROLE ${role} ${attributes}`);
    }
  });
}

/** `databaseUrl` (same server and database) logging in as the application role. */
export function appLoginUrl(databaseUrl: string, password?: string): string {
  const url = new URL(databaseUrl);
  url.username = encodeURIComponent(APP_ROLE);
  url.password = password ? encodeURIComponent(password) : '';
  return url.toString();
}

/** Something the app's login role can do that would let it rewrite the audit trail. */
export interface RolePrivilege {
  /** The login role (session_user). */
  loginRole: string;
  /** The role holding the privilege: the login role itself or one it can SET ROLE to. */
  role: string;
  /** Reads after "…is" / "…can SET ROLE to X, which is": "a superuser", "the owner of table public.audit_events". */
  what: string;
}

// Predefined roles whose members can write any table or run programs as the server's OS user.
const ESCAPE_ROLES = ['pg_execute_server_program', 'pg_write_server_files', 'pg_write_all_data'];

/**
 * The privileges that would let a connection logging in with `appUrl` escape the append-only
 * rules, most serious first: superuser, CREATEROLE or BYPASSRLS, the predefined roles that write
 * anything, ownership of the database or of the audit tables' schema, CREATE on that schema
 * (PUBLIC has it by default before PostgreSQL 15), ownership of any table. Each counts
 * for the login role and for every role it is a member of (it can SET ROLE to those, and RESET
 * ROLE always returns to the login role, whatever the pool's `-c role=` says). Empty when none.
 */
export async function appRolePrivileges(appUrl: string): Promise<RolePrivilege[]> {
  return withClient(appUrl, async (client) => {
    const { rows } = await client.query<{ login_role: string; role: string; what: string }>(
      `WITH reachable AS (
         SELECT r.* FROM pg_roles r WHERE pg_has_role(session_user, r.oid, 'MEMBER')
       ), owned_table AS (
         SELECT DISTINCT ON (c.relowner) c.relowner, format('%I.%I', n.nspname, c.relname) AS name
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast%'
          ORDER BY c.relowner, (c.relname LIKE 'audit\\_%') DESC, c.relname
       ), findings AS (
         SELECT rolname, 1 AS rank, 'a superuser' AS what FROM reachable WHERE rolsuper
         UNION ALL SELECT rolname, 2, 'allowed to create roles (CREATEROLE)' FROM reachable WHERE rolcreaterole
         UNION ALL SELECT rolname, 3, 'exempt from row security (BYPASSRLS)' FROM reachable WHERE rolbypassrls
         UNION ALL SELECT rolname, 4, 'a predefined role that can write any table or run server programs' FROM reachable WHERE rolname = ANY($1::text[])
         UNION ALL SELECT r.rolname, 5, 'the owner of database ' || quote_ident(d.datname)
           FROM reachable r JOIN pg_database d ON d.datdba = r.oid WHERE d.datname = current_database()
         UNION ALL SELECT r.rolname, 6, 'the owner of schema ' || quote_ident(n.nspname)
           FROM reachable r JOIN pg_namespace n ON n.nspowner = r.oid
          WHERE n.oid = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass('audit_events'))
         -- The owner's migrations (and any function running as the owner that does not pin its
         -- search_path) look names up in this schema: a function planted there with a
         -- better-matching signature, convert_to(text, text) say, would run as the owner.
         UNION ALL SELECT r.rolname, 7, 'allowed to create objects in schema ' || quote_ident(n.nspname) || ', where the owner''s migrations look names up'
           FROM reachable r JOIN pg_namespace n ON has_schema_privilege(r.oid, n.oid, 'CREATE')
          WHERE n.oid = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass('audit_events'))
         UNION ALL SELECT r.rolname, 8, 'the owner of table ' || t.name
           FROM reachable r JOIN owned_table t ON t.relowner = r.oid
       )
       SELECT session_user::text AS login_role, rolname::text AS role, what FROM findings
        ORDER BY rank, rolname = session_user DESC, rolname`,
      [ESCAPE_ROLES],
    );
    return rows.map((row) => ({ loginRole: row.login_role, role: row.role, what: row.what }));
  });
}

/** One line: what is wrong, why it matters, how to fix it. */
export function describePrivilege(privilege: RolePrivilege): string {
  const found =
    privilege.role === privilege.loginRole
      ? `the app logs in as "${privilege.loginRole}", ${privilege.what}`
      : `the app's login role "${privilege.loginRole}" can SET ROLE to "${privilege.role}", ${privilege.what}`;
  return (
    `database role: ${found}, so it could rewrite the audit trail; ` +
    `give DATABASE_URL a least-privileged login role (${ROLE_GUIDE}) or set ${ALLOW_PRIVILEGED_ROLE_VARIABLE}=1 to run anyway`
  );
}

export type AppRoleVerdict = { ok: true; warning?: string } | { ok: false; reason: string };

/**
 * The start-up check web, worker and `npm start` run on DATABASE_URL: refused with a one-line
 * reason when the login role is privileged, or only warned about when explicitly allowed.
 */
export async function checkAppRole(appUrl: string, source: EnvSource = process.env): Promise<AppRoleVerdict> {
  const [worst] = await appRolePrivileges(appUrl);
  if (!worst) return { ok: true };
  const line = describePrivilege(worst);
  if (privilegedRoleAllowed(source)) return { ok: true, warning: `${line.split(';')[0]} (allowed by ${ALLOW_PRIVILEGED_ROLE_VARIABLE})` };
  return { ok: false, reason: line };
}
