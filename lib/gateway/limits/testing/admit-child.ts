// A second gateway process for the shared-Redis test: admits N requests for one user under a
// per-minute request limit and prints how many were let through.
// argv: redisUrl prefix tenantId userId nowMs count limit
import { GatewayLimits } from '../gateway-limits';
import { RedisLimitStore } from '../redis-store';
import type { SpendLedger } from '../ledger';
import { limitsConfig, testCaller, testDecision, testPrincipal } from './fixtures';

const [redisUrl, prefix, tenantId, userId, nowMs, count, limit] = process.argv.slice(2);
// Rate limits only: no budget counter is ever seeded, so no ledger is consulted.
const noLedger: SpendLedger = {
  record: async () => ({ result: 'new', addedMicrodollars: 0 }),
  spent: async () => {
    throw new Error('not expected');
  },
};
const config = limitsConfig(`limits:\n  rate:\n    - { scope: user, requests_per_minute: ${Number(limit)} }\n`);
const limits = new GatewayLimits({ store: RedisLimitStore.connect(redisUrl!), ledger: noLedger, config: () => ({ config }), prefix: prefix!, clock: () => Number(nowMs) });
const caller = testCaller(testPrincipal({ tenantId, userId }));
const results = await Promise.all(
  Array.from({ length: Number(count) }, () => limits.admit({ caller, model: 'test-model', estimatedInputTokens: 10, maxOutputTokens: 10, decision: testDecision() })),
);
process.stdout.write(`${results.filter((r) => r.ok).length}\n`);
await limits.close();
