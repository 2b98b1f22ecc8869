// Password sign-in throttling over HTTP, as a guessing script sees it: next-auth's own credentials
// endpoint, the built app, the real proxy logic (the test runner is a loopback proxy, so the
// X-Forwarded-For it sends is believed, as a reverse proxy's would be).
import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';

const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

// The address limit (lib/auth/sign-in-throttle.ts ADDRESS_RULE).
const ADDRESS_LIMIT = 10;

function testAddress(): string {
  const [a, b] = randomBytes(2);
  return `198.18.${a}.${b}`;
}

interface Answer {
  status: number;
  body: string;
  sessionCookie: boolean;
}

/** What signIn('credentials', { redirect: false }) in the sign-in form sends, from `address`. */
async function signIn(email: string, password: string, address: string): Promise<Answer> {
  const headers = { 'x-forwarded-for': address };
  const csrf = await fetch(`${baseUrl}/api/auth/csrf`, { headers });
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const cookie = csrf.headers
    .getSetCookie()
    .map((value) => value.split(';')[0])
    .join('; ');
  const response = await fetch(`${baseUrl}/api/auth/callback/credentials`, {
    method: 'POST',
    headers: { ...headers, cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrfToken, email, password, callbackUrl: `${baseUrl}/`, json: 'true' }),
    redirect: 'manual',
  });
  return {
    status: response.status,
    body: await response.text(),
    sessionCookie: response.headers.getSetCookie().some((value) => value.startsWith('next-auth.session-token=')),
  };
}

async function guess(email: string, address: string, times: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let attempt = 0; attempt < times; attempt++) answers.push(await signIn(email, `guess ${attempt}`, address));
  return answers;
}

// The administrator's account is shared with the other browser tests: the test that ends with
// their successful sign-in (which clears the account's counter) runs first.
describe('password sign-in throttling', () => {
  it('lets the administrator in from another address while one address hammers their account', async () => {
    const attacker = testAddress();
    await guess(adminEmail, attacker, ADDRESS_LIMIT * 2);
    const owner = await signIn(adminEmail, adminPassword, testAddress());
    expect(owner.sessionCookie).toBe(true);
    expect(owner.body).not.toContain('error=');
  });

  it('answers a known and an unknown email identically, before and after the throttle', async () => {
    const unknown = `nobody.${randomBytes(3).toString('hex')}@example.com`;
    const [first, second] = [testAddress(), testAddress()];
    const known = await guess(adminEmail, first, ADDRESS_LIMIT + 1);
    const stranger = await guess(unknown, second, ADDRESS_LIMIT + 1);

    expect(known).toEqual(stranger);
    expect(new Set(known.slice(0, ADDRESS_LIMIT).map((answer) => answer.body)).size).toBe(1);
    expect(known[0]!.body).toContain('error=invalid_credentials');
    expect(known[ADDRESS_LIMIT]).toMatchObject({ status: known[0]!.status, sessionCookie: false });
    expect(known[ADDRESS_LIMIT]!.body).toMatch(/error=throttled%3A\d+/);
    // While throttled, not even the right password gets through from that address.
    const right = await signIn(adminEmail, adminPassword, first);
    expect(right.sessionCookie).toBe(false);
    expect(right.body).toBe(known[ADDRESS_LIMIT]!.body);
  });
});
