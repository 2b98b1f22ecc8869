import { decisionForm, decisionPage } from './decision';
import { html } from './escape';
import { htmlPage } from './layout';

export interface DeviceEntryInput {
  /** What the user typed, shown back after an error. */
  value?: string;
  error?: string;
  status?: number;
}

/** Step one: type the code from the terminal. A GET form; nothing is approved here. */
export function deviceEntryPage(input: DeviceEntryInput = {}): Response {
  const body = html`
<h1>Connect a device</h1>
<p>Enter the code shown by the application you are signing in to, such as Claude Code in your terminal.</p>
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
<form method="get" action="/device">
<label for="user_code">Code</label>
<input type="text" id="user_code" name="user_code" value="${input.value ?? ''}" placeholder="XXXX-XXXX" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="16" required>
<div class="actions"><button type="submit" class="primary">Continue</button></div>
</form>`;
  return htmlPage({ title: 'Connect a device', body, status: input.status });
}

export interface DeviceConfirmInput {
  userCode: string;
  applicationName: string;
  requestedFrom?: string | null;
  requestedAt: Date;
  userEmail: string;
  csrfToken: string;
  setCookie?: string;
}

/**
 * Step two: what is asking, and an explicit Approve or Deny. Never submitted automatically
 * (RFC 8628 §5.4): a code in the link proves nothing about who started the sign-in.
 */
export function deviceConfirmPage(input: DeviceConfirmInput): Response {
  const minutes = Math.max(0, Math.round((Date.now() - input.requestedAt.getTime()) / 60_000));
  const body = html`
<h1>Sign in as ${input.userEmail}?</h1>
<p><strong>${input.applicationName}</strong> is asking to act as you.</p>
<p>Check that this code matches the one the application shows:</p>
<p class="note"><code style="font-size:1.4rem;letter-spacing:.15em"><strong>${input.userCode}</strong></code></p>
<p>Requested ${minutes === 0 ? 'just now' : `${minutes} minute${minutes === 1 ? '' : 's'} ago`}${input.requestedFrom ? ` from ${input.requestedFrom}` : ''}.
Only approve a sign-in you started yourself.</p>
${decisionForm('/device', { user_code: input.userCode, csrf: input.csrfToken })}`;
  return decisionPage('Approve sign-in', body, input.setCookie);
}

export function deviceResultPage(approved: boolean, applicationName: string): Response {
  const body = approved
    ? html`<h1>Device connected</h1><p class="success">${applicationName} is now signed in. You can close this window and return to it.</p>`
    : html`<h1>Sign-in denied</h1><p>You denied the request, so nothing was signed in. You can close this window.</p>`;
  return htmlPage({ title: approved ? 'Device connected' : 'Sign-in denied', body });
}
