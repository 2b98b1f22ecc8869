import { parseArgs } from 'node:util';
import { HELPER_HOOK_TIMEOUT_SECONDS } from '@/lib/governance-hooks/paths';
import { canonicalHeaders, identityOf } from './claims';
import { HelperError } from './errors';
import { parseFailMode, parseHookEvent, parseTimeout, runHook } from './hook';
import { normaliseServer } from './oauth-client';
import { helperHome } from './paths';
import { openSecretStore } from './secret-store';
import { currentToken, signIn, signOut, type HelperContext } from './session';
import { readState } from './state';

export const HELPER_USAGE = `Usage: gatehouse-helper [command] [options]

Prints a short-lived Gatehouse access token for Claude (apiKeyHelper, inferenceCredentialHelper).

Commands:
  (none) | token      Print a fresh access token on stdout, and nothing else
                      --format bare (default) | json   json: {"token": …, "headers": {…}} for Cowork
                      --call-source NAME               x-call-source in json output (default: cowork)
  headers             Print Authorization and the identity headers as a JSON object, for clients that
                      take a headers helper (the plugin marketplace's headersHelper; otel-headers is
                      the same for otelHeadersHelper, otlpHeadersHelper)
  login               Sign in through the browser and remember the sign-in (--server URL, --no-browser)
  logout              End the sign-in on the server and forget it here
  status              Say who is signed in, where, and until when
  hook EVENT          A Claude Code command hook (managed settings install it): posts the hook input
                      on stdin to Gatehouse with the token and prints Gatehouse's answer
                      --fail-mode closed (default) | open   when Gatehouse cannot answer a PreToolUse:
                                       refuse the tool call (exit 2), or leave it to Claude Code
                      --timeout SECONDS                wait for Gatehouse's answer (default 10); the
                                       whole run, renewal included, ends 30 s after it at most

Options for every command: --server URL (default: the server of the last sign-in).
Environment: CLAUDE_HELPER_CONTEXT=interactive allows a browser sign-in when none is remembered;
GATEHOUSE_HELPER_HOME moves the state folder; GATEHOUSE_HELPER_STORE=keychain|secret-service|dpapi|file.
Exit codes: 0 ok, 1 failure, 2 wrong usage, 3 not signed in or sign-in refused (hook: 0, or 2 to
block a tool call, as Claude Code reads them).`;


export interface HelperIo {
  stdout: (text: string) => void;
  stderr: (line: string) => void;
  /** All of standard input (read only by `hook`). */
  stdin: () => Promise<string>;
  env: NodeJS.ProcessEnv;
}

const OPTIONS = {
  server: { type: 'string' },
  format: { type: 'string' },
  'call-source': { type: 'string' },
  'no-browser': { type: 'boolean' },
  'fail-mode': { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

const COMMANDS = ['token', 'headers', 'otel-headers', 'login', 'logout', 'status', 'hook'] as const;
type Command = (typeof COMMANDS)[number];

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new HelperError(`${error instanceof Error ? error.message : String(error)} (try gatehouse-helper --help)`, 2);
  }
}

function describeExpiry(expiresAt: number | undefined): string {
  if (!expiresAt) return 'no token cached';
  const seconds = Math.round(expiresAt - Date.now() / 1000);
  return seconds > 0 ? `token valid for ${Math.floor(seconds / 60)} min ${seconds % 60} s` : 'cached token expired (renewed on next use)';
}

/** Runs one helper invocation; returns the exit code. Only the credential is written to stdout. */
export async function runHelper(argv: string[], io: HelperIo): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    io.stdout(`${HELPER_USAGE}\n`);
    return 0;
  }
  const [name = 'token', ...rest] = positionals;
  if (!COMMANDS.includes(name as Command)) throw new HelperError(`unknown command "${name}" (try gatehouse-helper --help)`, 2);
  const command = name as Command;
  // `hook` takes the event's name; no other command takes an argument.
  const [argument, ...extra] = command === 'hook' ? rest : [undefined, ...rest];
  if (extra.length) throw new HelperError(`unexpected argument "${extra[0]}" (try gatehouse-helper --help)`, 2);
  const format = values.format ?? 'bare';
  if (format !== 'bare' && format !== 'json') throw new HelperError(`--format must be bare or json (got "${format}")`, 2);
  const server = values.server ? normaliseServer(values.server, io.env) : null;
  const home = helperHome(io.env);
  const context: HelperContext = { home, store: openSecretStore(home, io.env), env: io.env, log: io.stderr };

  switch (command) {
    case 'hook': {
      const hook = { event: parseHookEvent(argument), server, failMode: parseFailMode(values['fail-mode']), timeoutSeconds: parseTimeout(values.timeout, HELPER_HOOK_TIMEOUT_SECONDS) };
      const result = await runHook(context, hook, await io.stdin());
      if (result.stdout) io.stdout(result.stdout);
      if (result.stderr) io.stderr(result.stderr);
      return result.exitCode;
    }
    case 'token': {
      const state = await currentToken(context, server);
      if (format === 'bare') io.stdout(`${state.accessToken}\n`);
      else io.stdout(`${JSON.stringify({ token: state.accessToken, headers: canonicalHeaders(state.accessToken, state.policyVersion ?? null, values['call-source'] ?? 'cowork') })}\n`);
      return 0;
    }
    case 'headers':
    case 'otel-headers': {
      const state = await currentToken(context, server);
      const headers: Record<string, string> = { Authorization: `Bearer ${state.accessToken}`, ...canonicalHeaders(state.accessToken, state.policyVersion ?? null, values['call-source'] ?? 'claude_code') };
      delete headers['x-trace-id'];
      io.stdout(`${JSON.stringify(headers)}\n`);
      return 0;
    }
    case 'login': {
      const target = server ?? readState(home)?.server;
      if (!target) throw new HelperError('login needs --server URL (the Gatehouse address your administrator gave you)', 2);
      const state = await signIn(context, target, { browser: !values['no-browser'] });
      io.stderr(`Signed in to ${state.server} as ${state.email ?? 'you'} (sign-in kept in the ${context.store.kind === 'file' ? `file ${home}/credentials.json` : context.store.kind})`);
      return 0;
    }
    case 'logout': {
      const result = await signOut(context);
      io.stderr(result.server ? `Signed out of ${result.server}${result.revoked ? '' : ' (the server could not be told; the sign-in is forgotten here)'}` : 'Not signed in');
      return 0;
    }
    case 'status': {
      const state = readState(home);
      if (!state || !context.store.read(state.server)) {
        io.stdout(`Not signed in${state ? ` to ${state.server}` : ''}. Run: gatehouse-helper login --server ${state?.server ?? 'URL'}\n`);
        return 3;
      }
      const identity = state.accessToken ? identityOf(state.accessToken) : null;
      io.stdout(`Signed in to ${state.server} as ${state.email ?? identity?.email ?? 'unknown'}; ${describeExpiry(state.expiresAt)}; policy ${state.policyVersion ?? 'unknown'}; sign-in kept in ${context.store.kind}\n`);
      return 0;
    }
  }
}
