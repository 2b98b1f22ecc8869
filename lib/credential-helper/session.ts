import { spawn } from 'node:child_process';
import type { Deadline } from './deadline';
import { HelperError } from './errors';
import { discover, probeToken, OAuthRefusal, pollDeviceAuthorization, refresh, REQUEST_TIMEOUT_MS, revoke, startDeviceAuthorization, type TokenSet } from './oauth-client';
import { identityOf } from './claims';
import type { SecretStore } from './secret-store';
import { clearState, readState, withStateLock, writeState, type HelperState } from './state';

export interface HelperContext {
  home: string;
  store: SecretStore;
  env: NodeJS.ProcessEnv;
  /** Where prompts and progress go (never stdout: stdout carries only the credential). */
  log: (line: string) => void;
}

/** A token is renewed this long before it expires, so a request made with it does not die in flight. */
const EARLY_RENEWAL_SECONDS = 120;

/** Whether the cached access token has time left (renewed EARLY_RENEWAL_SECONDS before it expires). */
export function fresh(state: HelperState | null, now = Date.now() / 1000): state is HelperState & { accessToken: string; expiresAt: number } {
  if (!state?.accessToken || !state.expiresAt) return false;
  return state.expiresAt - now > EARLY_RENEWAL_SECONDS;
}

/** Desktop sets CLAUDE_HELPER_CONTEXT; only `interactive` means a person is there to use a browser. */
export function isInteractive(env: NodeJS.ProcessEnv): boolean {
  return env.CLAUDE_HELPER_CONTEXT === 'interactive';
}

function notSignedIn(server: string | null): HelperError {
  const where = server ? ` --server ${server}` : ' --server https://YOUR-GATEHOUSE';
  return new HelperError(`not signed in to Gatehouse: run \`gatehouse-helper login${where}\``, 3);
}

/** Opens the URL in the user's browser; GATEHOUSE_HELPER_BROWSER names another opener (or `none`). */
function openBrowser(url: string, env: NodeJS.ProcessEnv): void {
  const chosen = env.GATEHOUSE_HELPER_BROWSER;
  if (chosen === 'none') return;
  // The URL comes from the server: hand the system opener a web page only, never file: or a
  // custom scheme that would start some other program.
  if (!/^https?:\/\//i.test(url)) return;
  const [command, args] = chosen
    ? [chosen, [url]]
    : process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['rundll32', ['url.dll,FileProtocolHandler', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true, windowsHide: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // the URL is printed too; a missing opener is not a failure
  }
}

/** Saves a sign-in's tokens: the rotated refresh token first, before anything else can fail or be cut short. */
async function saveTokens(context: HelperContext, server: string, tokens: TokenSet, probeSignal?: AbortSignal): Promise<HelperState> {
  if (tokens.refreshToken) context.store.write(server, tokens.refreshToken);
  const state: HelperState = {
    server,
    email: identityOf(tokens.accessToken).email ?? undefined,
    accessToken: tokens.accessToken,
    expiresAt: tokens.expiresAt,
    policyVersion: (await probeToken(server, tokens.accessToken, probeSignal)).policyVersion ?? undefined,
  };
  writeState(context.home, state);
  return state;
}

/** The browser sign-in (OAuth device flow): prints where to go on stderr, waits for approval. */
export async function signIn(context: HelperContext, server: string, options: { browser: boolean }): Promise<HelperState> {
  const metadata = await discover(server);
  const codes = await startDeviceAuthorization(metadata);
  const url = codes.verificationUriComplete ?? codes.verificationUri;
  context.log(`To sign in to Gatehouse, open ${url} and confirm the code ${codes.userCode}`);
  if (options.browser) openBrowser(url, context.env);
  const tokens = await pollDeviceAuthorization(metadata, codes);
  return withStateLock(context.home, () => saveTokens(context, server, tokens));
}

/** Ends the sign-in: revokes the refresh token on the server (best effort) and forgets it here. */
export async function signOut(context: HelperContext): Promise<{ server: string | null; revoked: boolean }> {
  return withStateLock(context.home, async () => {
    const state = readState(context.home);
    if (!state) return { server: null, revoked: false };
    const refreshToken = context.store.read(state.server);
    let revoked = false;
    if (refreshToken) {
      try {
        revoked = await revoke(await discover(state.server), refreshToken);
      } catch {
        revoked = false;
      }
    }
    context.store.remove(state.server);
    clearState(context.home);
    return { server: state.server, revoked };
  });
}

/** With a deadline, another helper's lock is waited for this long at most (it normally holds it for milliseconds). */
const BRIEF_LOCK_WAIT_MS = 3_000;

/**
 * A refresh is started only with this much time left before a deadline. The refresh token rotates
 * when the server answers: a refresh cut short after that loses the new one, and with it the
 * sign-in. The refresh request's own timeout ends a second before the deadline.
 */
const MIN_REFRESH_MS = 3_000;
const REFRESH_MARGIN_MS = 1_000;

export interface RenewalLimits {
  /**
   * A run that must be done by then (a hook): nobody is there for a browser sign-in, whatever
   * CLAUDE_HELPER_CONTEXT says; the lock is waited for briefly; requests are cut short at it; and
   * no refresh is started that could not finish before it.
   */
  deadline?: Deadline;
}

/**
 * A usable access token: the cached one while it has time left, else a silent refresh (under the
 * lock, re-reading state another helper may have just refreshed), else — only when a person is
 * present — a browser sign-in. A refused refresh forgets the sign-in at once, so the next run
 * fails fast instead of retrying a dead credential.
 */
export async function currentToken(context: HelperContext, requestedServer: string | null, limits: RenewalLimits = {}): Promise<HelperState & { accessToken: string }> {
  const { deadline } = limits;
  const requestSignal = () => deadline?.signal(REQUEST_TIMEOUT_MS);
  const lockWaitMs = () => (deadline ? Math.min(BRIEF_LOCK_WAIT_MS, deadline.remainingMs()) : undefined);
  const initial = readState(context.home);
  const server = requestedServer ?? initial?.server ?? null;
  if (!server) throw notSignedIn(null);
  // Clients run the helper again when the gateway answers 401, so a cached token is checked
  // before it is handed out again: a revoked sign-in must fail here, not loop on a dead token.
  let rejectedToken: string | null = null;
  if (initial && server === initial.server && fresh(initial)) {
    const probe = await probeToken(server, initial.accessToken, requestSignal());
    if (!probe.rejected) {
      if (probe.policyVersion && probe.policyVersion !== initial.policyVersion) {
        await withStateLock(context.home, async () => writeState(context.home, { ...(readState(context.home) ?? initial), policyVersion: probe.policyVersion! }), lockWaitMs());
        return { ...initial, policyVersion: probe.policyVersion };
      }
      return initial;
    }
    rejectedToken = initial.accessToken;
  }

  const renewed = await withStateLock(context.home, async (): Promise<HelperState | { ended: string } | null> => {
    const state = readState(context.home);
    if (state?.server === server && fresh(state) && state.accessToken !== rejectedToken) return state;
    const refreshToken = state?.server === server ? context.store.read(server) : null;
    if (!refreshToken) return null;
    try {
      const metadata = await discover(server, requestSignal());
      if (!deadline) return await saveTokens(context, server, await refresh(metadata, refreshToken));
      if (deadline.remainingMs() < MIN_REFRESH_MS) throw new HelperError('too little time was left to renew the sign-in safely');
      const tokens = await refresh(metadata, refreshToken, AbortSignal.timeout(Math.min(REQUEST_TIMEOUT_MS, deadline.remainingMs() - REFRESH_MARGIN_MS)));
      return await saveTokens(context, server, tokens, requestSignal());
    } catch (error) {
      if (!(error instanceof OAuthRefusal) || error.exitCode !== 3) throw error;
      context.store.remove(server);
      clearState(context.home);
      return { ended: error.message };
    }
  }, lockWaitMs());
  if (renewed && 'accessToken' in renewed && renewed.accessToken) return renewed as HelperState & { accessToken: string };
  if (deadline || !isInteractive(context.env)) {
    if (renewed && 'ended' in renewed) throw new HelperError(`your Gatehouse sign-in has ended (${renewed.ended}); run \`gatehouse-helper login --server ${server}\``, 3);
    throw notSignedIn(server);
  }
  return (await signIn(context, server, { browser: true })) as HelperState & { accessToken: string };
}
