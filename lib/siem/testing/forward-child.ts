// Child process for the forwarder's kill -9 test: one forwarding pass for one tenant with a short
// lease, so the batch it holds when killed is taken over soon after. Prints "claimed" lines via
// the receiver, not here: the test kills it when the receiver sees the request.
//   tsx forward-child.ts <tenant-id> <config-json> <lease-ms>
import { parseGatehouseConfigObject } from './config';
import { createAppPool } from '@/lib/db/pool';
import { forwardOnce } from '../forwarder';

const [tenantId, configJson, leaseMs] = process.argv.slice(2);
const databaseUrl = process.env.DATABASE_URL;
if (!tenantId || !configJson || !leaseMs || !databaseUrl) {
  console.error('usage: DATABASE_URL=... tsx forward-child.ts <tenant-id> <config-json> <lease-ms>');
  process.exit(2);
}
const database = createAppPool(databaseUrl, 2);
const run = await forwardOnce({ database, config: parseGatehouseConfigObject(JSON.parse(configJson)), tenantId, leaseMs: Number(leaseMs), budgetMs: 30_000 });
console.log(JSON.stringify(run));
await database.end();
