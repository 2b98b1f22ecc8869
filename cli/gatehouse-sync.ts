// gatehouse-sync's entry point (lib/plugins/agent), bundled into one CommonJS file by
// scripts/lib/bundle.mjs (npm run build:clients): Node alone runs it.
import { main } from '@/lib/plugins/agent/main';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`gatehouse-sync: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
