/**
 * next-auth passes a failed sign-in to the browser as one string (the `error` of signIn()).
 * These helpers put the failure reason, and for a lockout the minutes left, into that string and
 * turn it back into the sentence the sign-in form shows. No server imports: the form uses it.
 */

export type SignInErrorReason = 'invalid_credentials' | 'locked' | 'disabled';

export function encodeSignInError(reason: SignInErrorReason, lockedUntil?: Date, now = new Date()): string {
  if (reason !== 'locked' || !lockedUntil) return reason;
  const minutes = Math.max(1, Math.ceil((lockedUntil.getTime() - now.getTime()) / 60_000));
  return `locked:${minutes}`;
}

export function signInErrorMessage(code: string | null | undefined): string | null {
  if (!code) return null;
  if (code === 'disabled') return 'Account disabled';
  if (code.startsWith('locked')) {
    const minutes = Number(code.split(':')[1]);
    if (!Number.isInteger(minutes) || minutes < 1) return 'Account locked — try again later';
    return `Account locked — try again in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`;
  }
  // invalid_credentials, next-auth's own CredentialsSignin, and anything unexpected.
  if (code === 'invalid_credentials' || code === 'CredentialsSignin') return 'Email or password is incorrect';
  if (code === 'SessionRequired') return null;
  return 'Sign-in failed — please try again';
}
