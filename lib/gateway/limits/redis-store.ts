import { Redis } from 'ioredis';
import { rateCounterExpiry, type AdmitInput, type AdmitResult, type BudgetStanding, type LimitStore, type SeedInput, type SettleInput } from './store';

// Budget counters are hashes {spent, reserved}; rate counters are plain integers per window.
// -1 stands for "no limit" (count only). Results are flat integer arrays: status first.

/**
 * KEYS: for each rate counter its current and previous window, then the budget counters.
 * ARGV: #rates, #budgets, now, window start, window length, how long window counters live (ms),
 * then (limit, cost) per rate counter, then (limit, amount) per budget counter. Lifetimes are
 * relative, so a replica's clock drifting from Redis's cannot expire counters early.
 */
const ADMIT = `
local nRates = tonumber(ARGV[1])
local nBudgets = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local windowStart = tonumber(ARGV[4])
local windowMs = tonumber(ARGV[5])
local ttl = ARGV[6]
local rateArg = 7
local budgetArg = 7 + 2 * nRates
local budgetKey = 2 * nRates

local result = {}
for j = 1, nBudgets do
  if redis.call('EXISTS', KEYS[budgetKey + j]) == 0 then result[#result + 1] = j - 1 end
end
if #result > 0 then
  table.insert(result, 1, 3)
  return result
end

local standing = {}
local over = {}
for j = 1, nBudgets do
  local values = redis.call('HMGET', KEYS[budgetKey + j], 'spent', 'reserved')
  local spent = tonumber(values[1]) or 0
  local reserved = tonumber(values[2]) or 0
  standing[#standing + 1] = spent
  standing[#standing + 1] = reserved
  local limit = tonumber(ARGV[budgetArg + 2 * (j - 1)])
  local amount = tonumber(ARGV[budgetArg + 2 * (j - 1) + 1])
  if limit >= 0 and spent + reserved + amount > limit then over[#over + 1] = j - 1 end
end
if #over > 0 then
  result = {2, #over}
  for _, index in ipairs(over) do result[#result + 1] = index end
  for _, value in ipairs(standing) do result[#result + 1] = value end
  return result
end

local weight = (windowMs - (now - windowStart)) / windowMs
for i = 1, nRates do
  local limit = tonumber(ARGV[rateArg + 2 * (i - 1)])
  if limit >= 0 then
    local cost = tonumber(ARGV[rateArg + 2 * (i - 1) + 1])
    local current = tonumber(redis.call('GET', KEYS[2 * i - 1])) or 0
    local previous = tonumber(redis.call('GET', KEYS[2 * i])) or 0
    local used = previous * weight + current
    if used > 0 and used + cost > limit then return {1, i - 1, current, previous} end
  end
end

for i = 1, nRates do
  redis.call('INCRBY', KEYS[2 * i - 1], ARGV[rateArg + 2 * (i - 1) + 1])
  redis.call('PEXPIRE', KEYS[2 * i - 1], ttl)
end
for j = 1, nBudgets do
  redis.call('HINCRBY', KEYS[budgetKey + j], 'reserved', ARGV[budgetArg + 2 * (j - 1) + 1])
end
result = {0}
for _, value in ipairs(standing) do result[#result + 1] = value end
return result
`;

/**
 * KEYS: budget counters, then token counters. ARGV: #budgets, (minus the reservation, actual
 * cost) per budget, delta per token counter. Amounts go to Redis as the strings they arrived
 * as: Lua would print a large number as 1e+14, which HINCRBY refuses.
 */
const SETTLE = `
local nBudgets = tonumber(ARGV[1])
for j = 1, nBudgets do
  local key = KEYS[j]
  if redis.call('EXISTS', key) == 1 then
    if redis.call('HINCRBY', key, 'reserved', ARGV[2 * j]) < 0 then redis.call('HSET', key, 'reserved', 0) end
    redis.call('HINCRBY', key, 'spent', ARGV[2 * j + 1])
  end
end
for i = nBudgets + 1, #KEYS do
  local key = KEYS[i]
  if redis.call('EXISTS', key) == 1 then
    if redis.call('INCRBY', key, ARGV[2 * nBudgets + 1 + (i - nBudgets)]) < 0 then redis.call('SET', key, 0, 'KEEPTTL') end
  end
end
return 0
`;

/** KEYS: budget counters. ARGV: (spent, lifetime ms) per counter. Only absent counters are set. */
const SEED = `
for j = 1, #KEYS do
  if redis.call('EXISTS', KEYS[j]) == 0 then
    redis.call('HSET', KEYS[j], 'spent', ARGV[2 * j - 1], 'reserved', 0)
    redis.call('PEXPIRE', KEYS[j], ARGV[2 * j])
  end
end
return 0
`;

type ScriptArgs = (string | number)[];
interface LimitScripts {
  gatehouseLimitsAdmit(numberOfKeys: number, ...args: ScriptArgs): Promise<number[]>;
  gatehouseLimitsSettle(numberOfKeys: number, ...args: ScriptArgs): Promise<number>;
  gatehouseLimitsSeed(numberOfKeys: number, ...args: ScriptArgs): Promise<number>;
}

/** Limits fail closed, so an unreachable Redis must surface as an error within a request's patience. */
export const REDIS_LIMITS_OPTIONS = { commandTimeout: 1_000, connectTimeout: 2_000, maxRetriesPerRequest: 1 } as const;

function limitArg(limit: number | null): number {
  return limit === null ? -1 : limit;
}

function standings(values: number[], count: number): BudgetStanding[] {
  return Array.from({ length: count }, (_, j) => ({ spent: values[2 * j]!, reserved: values[2 * j + 1]! }));
}

/**
 * The store shared by every replica. Each operation is one Lua script, which Redis runs
 * atomically; keys carry the caller's `{tenant}` hash tag (see keys.ts), so a tenant's
 * counters share a Redis Cluster slot as multi-key scripts require.
 */
export class RedisLimitStore implements LimitStore {
  readonly kind = 'redis';
  private readonly redis: Redis & LimitScripts;

  constructor(redis: Redis) {
    redis.defineCommand('gatehouseLimitsAdmit', { lua: ADMIT });
    redis.defineCommand('gatehouseLimitsSettle', { lua: SETTLE });
    redis.defineCommand('gatehouseLimitsSeed', { lua: SEED });
    this.redis = redis as Redis & LimitScripts;
  }

  static connect(url: string): RedisLimitStore {
    const redis = new Redis(url, REDIS_LIMITS_OPTIONS);
    // Errors reach callers through their commands; without a listener ioredis would also print each one.
    redis.on('error', () => undefined);
    return new RedisLimitStore(redis);
  }

  async admit(input: AdmitInput): Promise<AdmitResult> {
    const keys = [...input.rates.flatMap((rate) => [rate.currentKey, rate.previousKey]), ...input.budgets.map((budget) => budget.key)];
    const args: ScriptArgs = [
      input.rates.length,
      input.budgets.length,
      input.nowMs,
      input.windowStartMs,
      input.windowMs,
      rateCounterExpiry(input.windowStartMs, input.windowMs) - input.nowMs,
      ...input.rates.flatMap((rate) => [limitArg(rate.limit), rate.cost]),
      ...input.budgets.flatMap((budget) => [limitArg(budget.limit), budget.amount]),
    ];
    const reply = await this.redis.gatehouseLimitsAdmit(keys.length, ...keys, ...args);
    const [status, ...rest] = reply;
    switch (status) {
      case 0:
        return { kind: 'admitted', budgets: standings(rest, input.budgets.length) };
      case 1:
        return { kind: 'rate_limited', index: rest[0]!, current: rest[1]!, previous: rest[2]! };
      case 2: {
        const count = rest[0]!;
        return { kind: 'over_budget', indexes: rest.slice(1, 1 + count), budgets: standings(rest.slice(1 + count), input.budgets.length) };
      }
      case 3:
        return { kind: 'unseeded', indexes: rest };
      default:
        throw new Error(`unexpected reply from the admission script: ${JSON.stringify(reply)}`);
    }
  }

  async settle(input: SettleInput): Promise<void> {
    if (!input.budgets.length && !input.tokens.length) return;
    const keys = [...input.budgets.map((budget) => budget.key), ...input.tokens.map((token) => token.key)];
    const args: ScriptArgs = [input.budgets.length, ...input.budgets.flatMap((budget) => [-budget.reserved, budget.actual]), ...input.tokens.map((token) => token.delta)];
    await this.redis.gatehouseLimitsSettle(keys.length, ...keys, ...args);
  }

  async seed(entries: SeedInput[]): Promise<void> {
    if (!entries.length) return;
    await this.redis.gatehouseLimitsSeed(entries.length, ...entries.map((entry) => entry.key), ...entries.flatMap((entry) => [entry.spent, Math.max(1, Math.ceil(entry.ttlMs))]));
  }

  async read(keys: string[]): Promise<(BudgetStanding | null)[]> {
    if (!keys.length) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hmget(key, 'spent', 'reserved');
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, value]) => {
      if (error) throw error;
      const [spent, reserved] = value as (string | null)[];
      return spent === null || spent === undefined ? null : { spent: Number(spent), reserved: Number(reserved ?? 0) };
    });
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

