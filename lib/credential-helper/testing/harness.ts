// gatehouse-helper as tests run it: the one-file build in a child process under plain node, and a
// sign-in approved the way a person does it in the dashboard's device page (helper tests, and the
// governance hooks' tests that run Claude Code with a signed-in helper).
import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import type { UserIdentity } from '@/lib/oauth/identity';
import { cookiesFrom, hiddenInput, postForm, randomTestIp, sessionCookie } from '@/lib/oauth/test-harness';

export interface HelperRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The helper's environment for a test: its own state folder, the file store, no browser. */
export function helperEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { NODE_ENV: 'production', PATH: process.env.PATH, HOME: home, GATEHOUSE_HELPER_HOME: home, GATEHOUSE_HELPER_STORE: 'file', GATEHOUSE_HELPER_BROWSER: 'none', ...extra };
}

/** Runs the built helper (`helperFile`); `onStderr` sees stderr as it arrives (the sign-in URL is printed there). */
export function runHelperProcess(helperFile: string, args: string[], env: NodeJS.ProcessEnv, options: { onStderr?: (text: string) => void; stdin?: string } = {}): Promise<HelperRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [helperFile, ...args], { env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(stderr);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // Closed at once when there is nothing to give: a command reading stdin sees it empty.
    child.stdin.end(options.stdin ?? '');
  });
}

/** The person opens the printed link while signed in to the dashboard at `origin` and approves. */
async function approveInBrowser(origin: string, user: UserIdentity, verificationUrl: string): Promise<void> {
  const ip = randomTestIp();
  const cookie = await sessionCookie(user);
  const page = await fetch(verificationUrl, { headers: { cookie, 'x-forwarded-for': ip } });
  expect(page.status).toBe(200);
  const html = await page.text();
  const decided = await postForm(`${origin}/device`, { user_code: hiddenInput(html, 'user_code')!, csrf: hiddenInput(html, 'csrf')!, decision: 'approve' }, { cookie: `${cookie}; ${cookiesFrom(page)}`, 'x-forwarded-for': ip });
  expect(decided.status).toBeLessThan(400);
}

/** Runs a helper command that signs in to `origin`, approving the sign-in when its link appears on stderr. */
export async function signInWith(helperFile: string, origin: string, user: UserIdentity, args: string[], env: NodeJS.ProcessEnv): Promise<HelperRun> {
  let approving: Promise<void> | null = null;
  const run = await runHelperProcess(helperFile, args, env, {
    onStderr: (stderr) => {
      const link = /open (\S+) and confirm the code/.exec(stderr)?.[1];
      if (link && !approving) approving = approveInBrowser(origin, user, link);
    },
  });
  expect(approving, run.stderr).not.toBeNull();
  await approving;
  return run;
}
