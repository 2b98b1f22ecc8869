// A gateway in a process of its own, for tests that kill it: serves the data plane as the
// production Node server does (pipeline-tests/harness.ts) on 127.0.0.1 with the configuration
// in the file named by argv[2], and prints one JSON line {url, redisPrefix} once it listens.
// Runs until killed.
import { readFileSync } from 'node:fs';
import { startGateway } from '../pipeline-tests/harness';

const [configFile] = process.argv.slice(2);
if (!configFile) {
  console.error('usage: tsx gateway-process.ts <gatehouse.yaml>');
  process.exit(2);
}
const gateway = await startGateway(readFileSync(configFile, 'utf8'), 'child');
process.stdout.write(`${JSON.stringify({ url: gateway.url, redisPrefix: process.env.GATEHOUSE_REDIS_PREFIX })}\n`);
