// Entry of `gatehouse-helper`, the credential helper Claude Code and Claude Desktop run. Bundled
// into one file by scripts/build-helper.mjs so a laptop needs only Node.
import { HelperError } from '@/lib/credential-helper/errors';
import { runHelper } from '@/lib/credential-helper/main';

runHelper(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (line) => process.stderr.write(`${line}\n`),
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`gatehouse-helper: ${message.split('\n')[0]}\n`);
    process.exitCode = error instanceof HelperError ? error.exitCode : 1;
  },
);
