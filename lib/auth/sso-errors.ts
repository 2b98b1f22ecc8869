import type { SsoRefusalReason } from './sso-provision';

/**
 * Single sign-on failures as /signin?error=<code> carries them, and the sentence the page shows.
 * Also covers next-auth's own OAuth error codes. No server imports: the page and form share it.
 */
const MESSAGES: Record<string, string> = {
  sso_no_email: 'Your identity provider did not send an email address, so Gatehouse cannot tell who you are',
  sso_email_unverified: 'Your identity provider has not verified your email address',
  sso_domain: 'Accounts from your email domain may not sign in to Gatehouse',
  sso_no_subject: 'Your identity provider did not say who you are — please try again',
  sso_account_exists:
    'A Gatehouse account with your email address already exists, and single sign-on does not take over existing accounts. Ask a Gatehouse administrator to link it to your identity provider: the command is in the audit log entry of this sign-in (gatehouse users link-sso).',
  // next-auth: discovery or the authorization request failed.
  OAuthSignin: 'Could not reach the identity provider — please try again',
  // next-auth: the IdP sent an error back, or its answer could not be verified.
  OAuthCallback: 'The identity provider did not complete the sign-in — please try again',
  Callback: 'Single sign-on failed — please try again',
  AccessDenied: 'Sign-in was refused',
  OAuthAccountNotLinked: 'Single sign-on failed — please try again',
};

export function ssoRefusalCode(reason: SsoRefusalReason): string {
  switch (reason) {
    case 'disabled':
      // The same code as a password sign-in of a disabled account: the same message.
      return 'disabled';
    case 'domain_not_allowed':
      return 'sso_domain';
    case 'no_email':
      return 'sso_no_email';
    case 'email_unverified':
      return 'sso_email_unverified';
    case 'no_subject':
      return 'sso_no_subject';
    case 'account_exists':
      return 'sso_account_exists';
  }
}

export function ssoErrorMessage(code: string | null | undefined): string | null {
  return code && Object.hasOwn(MESSAGES, code) ? MESSAGES[code]! : null;
}
