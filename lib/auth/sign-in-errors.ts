/**
 * next-auth passes a failed sign-in to the browser as one string (the `error` of signIn()).
 * These helpers put the failure reason, and for a throttled attempt the minutes to wait, into
 * that string and turn it back into the sentence the sign-in form shows. No server imports: the
 * form uses it.
 *
 * A throttled attempt reads the same whether or not the account exists, and says nothing about
 * an account at all: the throttle counts addresses and names typed, not accounts.
 */

export type SignInErrorReason = 'invalid_credentials' | 'throttled' | 'disabled';

export function encodeSignInError(reason: SignInErrorReason, retryAfterSeconds?: number): string {
  if (reason !== 'throttled') return reason;
  // Whole minutes: precise enough to act on, and the same for every attempt refused together.
  const minutes = Math.max(1, Math.ceil((retryAfterSeconds ?? 60) / 60));
  return `throttled:${minutes}`;
}

export function signInErrorMessage(code: string | null | undefined): string | null {
  if (!code) return null;
  if (code === 'disabled') return 'Account disabled';
  if (code.startsWith('throttled')) {
    const minutes = Number(code.split(':')[1]);
    if (!Number.isInteger(minutes) || minutes < 1) return 'Too many sign-in attempts — try again later';
    return `Too many sign-in attempts — try again in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`;
  }
  // invalid_credentials, next-auth's own CredentialsSignin, and anything unexpected.
  if (code === 'invalid_credentials' || code === 'CredentialsSignin') return 'Email or password is incorrect';
  if (code === 'SessionRequired') return null;
  return 'Sign-in failed — please try again';
}
