import { decisionForm, decisionPage } from './decision';
import { html } from './escape';

const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Confirm who you are',
  profile: 'See your name',
  email: 'See your email address',
  offline_access: 'Stay signed in until you sign out or an administrator revokes access',
};

export interface ConsentPageInput {
  clientName: string;
  /** Self-registered clients chose their own name; say so. */
  unverified: boolean;
  /** A metadata document client: the URL that describes it (its client_id). */
  describedAt?: string;
  scopes: readonly string[];
  audience: string;
  redirectUri: string;
  userEmail: string;
  formAction: string;
  csrfToken: string;
  setCookie?: string;
}

function redirectHost(uri: string): string {
  try {
    const url = new URL(uri);
    return url.host || `${url.protocol}//${url.pathname}`;
  } catch {
    return uri;
  }
}

export function consentPage(input: ConsentPageInput): Response {
  const abilities = [`Use Gatehouse at ${input.audience} as you`, ...input.scopes.map((s) => SCOPE_DESCRIPTIONS[s] ?? s)];
  const body = html`
<h1>Allow <strong>${input.clientName}</strong> to access your account?</h1>
${input.unverified ? html`<p class="note">This application ${input.describedAt ? html`describes itself at <strong>${redirectHost(input.describedAt)}</strong>` : 'registered itself'}. Gatehouse has not verified that it is what its name says.</p>` : ''}
<p>It will be able to:</p>
<ul>${abilities.map((a) => html`<li>${a}</li>`)}</ul>
<p>You are signed in as <strong>${input.userEmail}</strong>. Approving sends you back to <strong>${redirectHost(input.redirectUri)}</strong>.</p>
${decisionForm(input.formAction, { csrf: input.csrfToken })}`;
  return decisionPage('Authorize application', body, input.setCookie);
}
