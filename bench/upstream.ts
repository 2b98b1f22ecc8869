// The fake Anthropic upstream of `npm run bench`, in a process of its own so its CPU is not the
// gateway's. argv[2]: JSON {latencyMs, eventDelayMs, textDeltas}. Prints its URL, runs until killed.
import { startFakeAnthropic } from '@/lib/gateway/testing';

const { latencyMs, eventDelayMs, textDeltas } = JSON.parse(process.argv[2] ?? '{}') as { latencyMs?: number; eventDelayMs?: number; textDeltas?: number };
const text = 'The function parseConfig reads gatehouse.yaml, validates it against the schema and returns the typed configuration. ';
const upstream = await startFakeAnthropic({
  // Nothing is kept per request: a soak must measure the servers' memory, not this list.
  recordRequests: false,
  behaviour: { kind: 'reply', latencyMs, eventDelayMs, reply: { content: [{ type: 'text', text: text.repeat(4) }], textDeltas } },
});
process.stdout.write(`${upstream.url}\n`);
