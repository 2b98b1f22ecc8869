import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);

async function gatehouse(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['cli/gatehouse.mjs', ...args], { env: process.env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('gatehouse CLI', () => {
  it('prints help and refuses unknown commands with a one-line reason', async () => {
    const help = await gatehouse('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('users create');
    const unknown = await gatehouse('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('gatehouse: unknown command "frobnicate" (try gatehouse --help)');
  });

  it('creates users, lists them, and rejects bad input without a stack trace', async () => {
    const email = `cli-${Date.now()}@example.com`;
    const created = await gatehouse('users', 'create', '--email', email, '--name', 'Cli User', '--department', 'Finance Ops', '--role', 'finance', '--role', 'member');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`created user ${email}`);
    expect(created.stdout).toMatch(/password: \S{20,}/);

    const listed = await gatehouse('users', 'list', '--json');
    const users = JSON.parse(listed.stdout) as Array<{ email: string; department: string; roles: string[] }>;
    expect(users.find((u) => u.email === email)).toMatchObject({ department: 'finance-ops', roles: ['finance', 'member'] });

    // Independent refusals run side by side: each is a process start (seconds on a loaded machine).
    const [duplicate, badRole, badEmail, missing] = await Promise.all([
      gatehouse('users', 'create', '--email', email, '--name', 'Again'),
      gatehouse('users', 'create', '--email', `x-${email}`, '--name', 'X', '--role', 'wizard'),
      gatehouse('users', 'create', '--email', 'not-an-email', '--name', 'X'),
      gatehouse('users', 'create', '--name', 'X'),
    ]);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr.trim()).toBe(`gatehouse: a user with email ${email} already exists`);
    expect(badRole.stderr).toMatch(/^gatehouse: unknown role wizard \(known: .*admin.*\)\n$/);
    expect(badEmail.stderr.trim()).toBe('gatehouse: email: must be an email address');
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('gatehouse: --email is required');
  }, 90_000);

  it('reports migrations as up to date', async () => {
    const result = await gatehouse('db', 'migrate');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('database is up to date');
  });
});
