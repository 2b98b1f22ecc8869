import { parseArgs } from 'node:util';
import { readRuntimeInfo } from '@/lib/db/server';
import { mintAccessToken } from '@/lib/oauth/mint';
import { publicUrl } from '@/lib/platform/public-url';
import { MAX_MINTED_TOKEN_TTL_SECONDS } from '@/lib/tokens/config';
import { UserInputError } from '@/lib/users/tenant';
import { CliError } from '../run';
import { withCliDatabase } from './with-database';

const HELP = `Usage:
  gatehouse token mint --email EMAIL [--ttl SECONDS] [--aud AUDIENCE] [--json]

mint  Prints an access token for the user, for scripts and load tests. It is a sign-in of its
      own: \`gatehouse users revoke\` stops it like any other. --ttl defaults to 900 seconds
      (at most ${MAX_MINTED_TOKEN_TTL_SECONDS}); --aud defaults to the gateway, <issuer>/v1.
      The issuer is the public URL of the running \`npm start\` (from its runtime file in
      the data directory), else GATEHOUSE_PUBLIC_URL, else http://localhost:$PORT.`;

/** The running server's public URL when one runs on this data directory: its tokens must verify there. */
function issuer(): string {
  return readRuntimeInfo()?.publicUrl ?? publicUrl();
}

async function mint(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { email: { type: 'string' }, ttl: { type: 'string' }, aud: { type: 'string' }, json: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new CliError((error as Error).message.split('\n')[0] ?? 'invalid arguments', 2);
  }
  if (!values.email) throw new CliError('--email is required', 2);
  const ttlSeconds = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttlSeconds !== undefined && !Number.isInteger(ttlSeconds)) throw new CliError('--ttl must be a whole number of seconds', 2);
  const minted = await withCliDatabase(() => mintAccessToken({ email: values.email!, issuer: issuer(), ttlSeconds, audience: values.aud })).catch((error) => {
    throw error instanceof UserInputError ? new CliError(error.message) : error;
  });
  console.log(values.json ? JSON.stringify({ access_token: minted.accessToken, token_type: 'Bearer', expires_in: minted.expiresIn }) : minted.accessToken);
  return 0;
}

export async function tokenCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || rest.includes('--help') || rest.includes('-h')) {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  if (sub === 'mint') return mint(rest);
  throw new CliError(`unknown token command "${sub}" (try gatehouse token --help)`, 2);
}
