import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);

describe('web process', () => {
  it('refuses a superuser database login before it serves anything, in one line that says how to fix it', async () => {
    // --dev skips the build check, so nothing but the role check stands between it and serving.
    const run = await exec(process.execPath, ['--import', 'tsx', 'scripts/web.ts', '--dev'], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: process.env.GATEHOUSE_TEST_SUPERUSER_URL!, HOST: '127.0.0.1', PORT: '1', GATEHOUSE_CONFIG: '/nonexistent/gatehouse.yaml' },
    }).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^web: database role: the app logs in as "[^"]+", a superuser, so it could rewrite the audit trail; give DATABASE_URL a least-privileged login role .* or set GATEHOUSE_ALLOW_PRIVILEGED_DB_ROLE=1 to run anyway$/);
    expect(run.stdout).not.toContain('listening');
  });
});
