// `gatehouse-helper hook <event>`: a Claude Code command hook (managed settings install it for
// every governance hook event). Claude Code writes the hook input on stdin; the helper posts it to
// Gatehouse's hook endpoint with the person's token and prints Gatehouse's answer, rebuilt from the
// fields such an answer may have (lib/governance-hooks/answer.ts). When Gatehouse cannot answer
// (unreachable, too slow, a 5xx, anything that is not its answer, something else in the way), the
// helper applies the fail mode Gatehouse wrote into the command: `closed` refuses the tool call
// (exit 2, the reason on stderr, which Claude Code shows Claude), `open` leaves it to Claude Code's
// own permission rules, with a warning for the person. The whole run has one deadline, before
// Claude Code's own timeout, and ends in the fail mode when it passes.
import { readCappedText } from '@/lib/http/capped-body';
import { readHookAnswer } from '@/lib/governance-hooks/answer';
import { HELPER_RENEWAL_SECONDS, HOOK_CALL_SOURCE, HOOK_EVENTS, HOOK_PATHS, MAX_HOOK_ANSWER_BYTES, type HookEvent } from '@/lib/governance-hooks/paths';
import type { FailMode } from '@/lib/tool-policy/types';
import { canonicalHeaders } from './claims';
import { Deadline } from './deadline';
import { failureReason, HelperError } from './errors';
import { currentToken, fresh, type HelperContext } from './session';
import { readState } from './state';

export interface HookCommand {
  event: HookEvent;
  /** The Gatehouse origin (the managed settings name it), or null for the last sign-in's. */
  server: string | null;
  failMode: FailMode;
  /** Seconds to wait for Gatehouse's answer. */
  timeoutSeconds: number;
}

/** What Claude Code gets: stdout (hook output JSON), stderr and the exit code (2 blocks a tool call). */
export interface HookResult {
  stdout: string;
  stderr: string;
  exitCode: 0 | 2;
}

export function parseHookEvent(name: string | undefined): HookEvent {
  const event = HOOK_EVENTS.find((candidate) => candidate === name);
  if (!event) throw new HelperError(`hook needs the Claude Code event: one of ${HOOK_EVENTS.join(', ')}${name ? ` (got "${name}")` : ''}`, 2);
  return event;
}

export function parseFailMode(value: string | undefined): FailMode {
  if (value === undefined || value === 'closed') return 'closed';
  if (value === 'open') return 'open';
  throw new HelperError(`--fail-mode must be closed or open (got "${value}")`, 2);
}

export function parseTimeout(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) throw new HelperError(`--timeout must be a number of seconds between 0 and 600 (got "${value}")`, 2);
  return seconds;
}

/** A tool call refused on the device: exit 2 is Claude Code's blocking answer, stderr the reason Claude reads. */
function refuse(reason: string): HookResult {
  return { stdout: '', stderr: reason, exitCode: 2 };
}

/** Shown to the person (systemMessage); the event goes on. */
function warn(message: string): HookResult {
  return { stdout: `${JSON.stringify({ systemMessage: message })}\n`, stderr: '', exitCode: 0 };
}

/** Gatehouse gave no answer: the fail mode decides a tool call; tracking events go on silently. */
function unanswered(command: HookCommand, why: string): HookResult {
  if (command.event !== 'PreToolUse') return { stdout: '', stderr: '', exitCode: 0 };
  if (command.failMode === 'closed') return refuse(`Blocked: Gatehouse could not decide this tool call (${why}), and its tool policy fails closed for this tool`);
  return warn(`Gatehouse could not decide this tool call (${why}); its tool policy fails open for this tool, so Claude Code's own permission rules decide`);
}

/** No token to send (not signed in, sign-in ended): refused like a call Gatehouse refuses for want of one. */
function unauthenticated(command: HookCommand, reason: string): HookResult {
  const message = `Gatehouse cannot be asked about this ${command.event}: ${reason}`;
  return command.event === 'PreToolUse' ? refuse(message) : warn(message);
}

/**
 * The token to send: the cached one while it has time left, without asking the gateway first (the
 * hook call itself is the check, and a refused token is answered in the hook's shape), else
 * renewed as for any other helper command, within the deadline and never through the browser.
 */
async function hookToken(context: HelperContext, server: string | null, deadline: Deadline): Promise<{ server: string; accessToken: string; policyVersion: string | null }> {
  const cached = readState(context.home);
  if (cached && (server === null || server === cached.server) && fresh(cached)) return { server: cached.server, accessToken: cached.accessToken, policyVersion: cached.policyVersion ?? null };
  const state = await currentToken(context, server, { deadline });
  return { server: state.server, accessToken: state.accessToken, policyVersion: state.policyVersion ?? null };
}

function describeFailure(error: unknown, waitedMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${Math.round(waitedMs / 100) / 10} s`;
  return `cannot reach it: ${failureReason(error)}`;
}

async function askGatehouse(context: HelperContext, command: HookCommand, input: string, deadline: Deadline): Promise<HookResult> {
  let token: Awaited<ReturnType<typeof hookToken>>;
  try {
    token = await hookToken(context, command.server, deadline);
  } catch (error) {
    if (error instanceof HelperError && error.exitCode === 3) return unauthenticated(command, error.message);
    // Renewal could not reach Gatehouse, failed in it or ran out of time: no answer either way.
    return unanswered(command, error instanceof Error ? error.message : String(error));
  }
  const waitMs = Math.min(command.timeoutSeconds * 1000, deadline.remainingMs());
  let response: Response;
  let body: string | null;
  try {
    response = await fetch(`${token.server}${HOOK_PATHS[command.event]}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.accessToken}`, 'content-type': 'application/json', ...canonicalHeaders(token.accessToken, token.policyVersion, HOOK_CALL_SOURCE) },
      body: input,
      redirect: 'error',
      signal: deadline.signal(waitMs),
    });
    body = await readCappedText(response, MAX_HOOK_ANSWER_BYTES);
  } catch (error) {
    return unanswered(command, describeFailure(error, waitMs));
  }
  // Gatehouse answers every hook with 200 and its answer, its refusals included; anything else (a
  // 5xx while deciding, a proxy's page, a `{}` where a decision belongs, a field Gatehouse never
  // sends) is no answer, as for an HTTP hook.
  if (response.status !== 200) return unanswered(command, `it answered HTTP ${response.status}`);
  if (body === null) return unanswered(command, `its answer is over ${MAX_HOOK_ANSWER_BYTES} bytes`);
  const answer = readHookAnswer(command.event, body);
  if (!answer) return unanswered(command, `its answer is not a ${command.event} hook answer`);
  return { stdout: `${JSON.stringify(answer)}\n`, stderr: '', exitCode: 0 };
}

/**
 * Runs one hook call; never throws for anything Gatehouse or the network does. It ends by
 * `--timeout` plus `renewalSeconds` (the time a token may take), whatever is still under way.
 */
export async function runHook(context: HelperContext, command: HookCommand, input: string, renewalSeconds = HELPER_RENEWAL_SECONDS): Promise<HookResult> {
  const budgetSeconds = command.timeoutSeconds + renewalSeconds;
  const deadline = new Deadline(Date.now() + budgetSeconds * 1000);
  const late = new Promise<HookResult>((resolve) => {
    const give = () => resolve(unanswered(command, `no answer within ${budgetSeconds} s`));
    if (deadline.expired.aborted) give();
    else deadline.expired.addEventListener('abort', give, { once: true });
  });
  return Promise.race([askGatehouse(context, command, input, deadline), late]);
}
