// Child process for the crash-safety test: appends to one tenant's chain as fast as it can with
// a fixed number of callers in flight, printing "<seq> <event_id>" for every acknowledged event,
// until it is killed (or, as a safety net, after 30 s or 50,000 events).
import { createAppPool } from '@/lib/db/pool';
import { AuditWriter } from '../writer';
import { sampleEvent } from './fixtures';

const [tenant, callersArgument] = process.argv.slice(2);
const databaseUrl = process.env.DATABASE_URL;
if (!tenant || !databaseUrl) {
  console.error('usage: DATABASE_URL=... tsx append-loop.ts <tenant-id> [callers]');
  process.exit(2);
}
const callers = Number(callersArgument ?? 20);
const pool = createAppPool(databaseUrl, 2);
const writer = new AuditWriter(pool);
const deadline = Date.now() + 30_000;
let appended = 0;

async function caller(id: number): Promise<void> {
  while (Date.now() < deadline && appended < 50_000) {
    const stored = await writer.append(sampleEvent(tenant!, id * 1_000_000 + appended++));
    process.stdout.write(`${stored.seq} ${stored.event_id}\n`);
  }
}

await Promise.all(Array.from({ length: callers }, (_, id) => caller(id)));
await writer.close();
await pool.end();
