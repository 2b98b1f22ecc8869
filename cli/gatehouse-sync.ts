// gatehouse-sync's entry point (lib/plugins/agent), bundled into dist/gatehouse-sync.mjs by
// scripts/lib/bundle.mjs (npm run build:clients): Node alone runs it.
import { main } from '@/lib/plugins/agent/main';

process.exitCode = await main(process.argv.slice(2));
