'use server';

import { revalidatePath } from 'next/cache';
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

export async function disconnectAccountAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const name = serverName(form);
    try {
      const { upstreamRevocation } = await disconnect(actor, name);
      revalidatePath('/mcp-servers/connections');
      const upstream =
        upstreamRevocation === 'revoked' ? 'and its provider revoked the tokens' : upstreamRevocation === 'failed' ? 'but its provider could not be told (revoke Gatehouse in your account settings there)' : 'its provider offers no revocation, so Gatehouse simply forgot the tokens';
      return { status: 'success', message: `Disconnected from ${name}: Gatehouse no longer calls it for you, ${upstream}.` };
    } catch (error) {
      if (error instanceof UpstreamOAuthError) return { status: 'error', message: sentence(error.message) };
      throw error;
    }
  });
}
