import { html, type SafeHtml } from './escape';
import { htmlPage } from './layout';

/**
 * The Approve / Deny form every approval screen ends with (OAuth consent, device sign-in). Deny
 * comes first and Approve is the styled default, so approving is always a deliberate click; the
 * hidden fields carry the CSRF token and whatever names the request being decided.
 */
export function decisionForm(action: string, hidden: Readonly<Record<string, string>>): SafeHtml {
  return html`<form method="post" action="${action}">
${Object.entries(hidden).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">
`)}<div class="actions">
<button type="submit" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="approve" class="primary">Approve</button>
</div>
</form>`;
}

/** An approval screen; `setCookie` carries the CSRF cookie its form is checked against. */
export function decisionPage(title: string, body: SafeHtml, setCookie: string | undefined): Response {
  return htmlPage({ title, body, headers: setCookie ? { 'set-cookie': setCookie } : undefined });
}
