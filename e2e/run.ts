/** `npm run test:e2e`: the browser tests alone (see e2e/vitest.config.ts). */
import { startVitest } from 'vitest/node';

const vitest = await startVitest('test', [], { config: 'e2e/vitest.config.ts', run: true, watch: false });
const failed = vitest.state.getFiles().some((file) => file.result?.state === 'fail') || vitest.state.getCountOfFailedTests() > 0;
await vitest.close();
process.exit(failed ? 1 : 0);
