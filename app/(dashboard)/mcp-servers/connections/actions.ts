'use server';

import { redirect } from 'next/navigation';
import type { ActionState } from '@/lib/admin/action-state';
import { runDashboardAction } from '@/lib/admin/run-action';
import { disconnect, startConnect, UpstreamOAuthError } from '@/lib/mcp/upstream-oauth';

function serverName(form: FormData): string {
  return String(form.get('name') ?? '').trim();
}

function sentence(message: string): string {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Starts connecting the signed-in person's account: on success the browser goes to the server's sign-in page. */
export async function connectAccountAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  let authorizationUrl: string | null = null;
  const state = await runDashboardAction(async (actor) => {
    try {
      authorizationUrl = (await startConnect(actor, serverName(form))).href;
      return { status: 'success', message: 'Opening the sign-in page…' };
    } catch (error) {
      if (error instanceof UpstreamOAuthError) return { status: 'error', message: sentence(error.message) };
      throw error;
    }
  });
  // Outside runDashboardAction: redirect() works by throwing, which it would report as a failure.
  if (authorizationUrl) redirect(authorizationUrl);
  return state;
}

/** Disconnects, then shows the outcome as the page's banner (the row's Disconnect form goes away with the grant). */
export async function disconnectAccountAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  const name = serverName(form);
  let outcome: string | null = null;
  const state = await runDashboardAction(async (actor) => {
    try {
      const { upstreamRevocation } = await disconnect(actor, name);
      outcome = upstreamRevocation === 'revoked' ? 'disconnected' : upstreamRevocation === 'failed' ? 'disconnected_revocation_failed' : 'disconnected_not_revocable';
      return { status: 'success', message: `Disconnected from ${name}.` };
    } catch (error) {
      if (error instanceof UpstreamOAuthError) return { status: 'error', message: sentence(error.message) };
      throw error;
    }
  });
  if (outcome) redirect(`/mcp-servers/connections?server=${encodeURIComponent(name)}&result=${outcome}`);
  return state;
}
