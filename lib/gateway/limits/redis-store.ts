import { Redis } from 'ioredis';
import { CLOSED_CALL_MEMORY_MS, rateCounterExpiry, type AdmitInput, type AdmitResult, type BudgetStanding, type LimitStore, type SeedInput, type SettleInput } from './store';

// Budget counters are hashes {spent, reserved, r:<call id> → amount}, each with a sorted set
// `<key>:held` of the call ids holding a reservation, scored by when it lapses (Redis's own clock,
// so replicas' clocks do not matter). Rate counters are plain integers per window. -1 stands for
// "no limit" (count only). Results are flat integer arrays: status first. Amounts computed in Lua
// are written with %.0f: Lua would print a large number as 1e+14, which HINCRBY refuses; and
// negating 0 gives -0, which %.0f prints as "-0", which HINCRBY refuses too (adding +0 clears
// the sign). A held call id can outlive its r: field when eviction takes the counter but not its
// held set, so 0 does occur.
//
// A call's closing record `…:call:<call id>` is a set of the settle operations that ran for it,
// kept CLOSED_CALL_MEMORY_MS: a settle or release whose operation is in it already is a resend
// and changes nothing, and an admission of a call that has one reserves nothing (it ran after its
// client gave up on it and released it). Only a settle writes it, so admissions cost no extra key.

/** Shared by the scripts: Redis's clock in ms, and the release of lapsed reservations. */
const COMMON = `
local function int(value) return string.format('%.0f', value + 0) end
local function clockMs()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local function lapse(key, held, now)
  local expired = redis.call('ZRANGEBYSCORE', held, '-inf', now)
  if #expired == 0 then return end
  local released = 0
  for _, id in ipairs(expired) do
    released = released + (tonumber(redis.call('HGET', key, 'r:' .. id)) or 0)
    redis.call('HDEL', key, 'r:' .. id)
  end
  redis.call('ZREMRANGEBYSCORE', held, '-inf', now)
  if redis.call('HINCRBY', key, 'reserved', int(-released)) < 0 then redis.call('HSET', key, 'reserved', 0) end
end
`;

/**
 * KEYS: for each rate counter its current and previous window, then for each budget counter the
 * counter and its held set, then the call's closing record. ARGV: #rates, #budgets, now, window
 * start, window length, how long window counters live (ms), call id, reservation lifetime (ms),
 * then (limit, cost) per rate counter, then (limit, amount, soft 0|1) per budget counter.
 * Lifetimes are relative, so a replica's clock drifting from Redis's cannot expire counters early.
 * Status 4: the call is closed already.
 */
const ADMIT = `${COMMON}
local nRates = tonumber(ARGV[1])
local nBudgets = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local windowStart = tonumber(ARGV[4])
local windowMs = tonumber(ARGV[5])
local ttl = ARGV[6]
local callId = ARGV[7]
local reservationTtl = tonumber(ARGV[8])
local rateArg = 9
local budgetArg = 9 + 2 * nRates
local budgetKey = 2 * nRates

if redis.call('EXISTS', KEYS[#KEYS]) == 1 then return {4} end
-- Held already: this admission is resent (a dropped connection lost its reply). The first answer
-- again, without the call's own reservation, and nothing counted twice.
for j = 1, nBudgets do
  if redis.call('ZSCORE', KEYS[budgetKey + 2 * j], callId) then
    local again = {0}
    for k = 1, nBudgets do
      local key = KEYS[budgetKey + 2 * k - 1]
      local values = redis.call('HMGET', key, 'spent', 'reserved', 'r:' .. callId)
      again[#again + 1] = tonumber(values[1]) or 0
      again[#again + 1] = math.max(0, (tonumber(values[2]) or 0) - (tonumber(values[3]) or 0))
    end
    return again
  end
end

local result = {}
for j = 1, nBudgets do
  if redis.call('EXISTS', KEYS[budgetKey + 2 * j - 1]) == 0 then result[#result + 1] = j - 1 end
end
if #result > 0 then
  table.insert(result, 1, 3)
  return result
end

local clock = clockMs()
local standing = {}
local over = {}
for j = 1, nBudgets do
  local key = KEYS[budgetKey + 2 * j - 1]
  lapse(key, KEYS[budgetKey + 2 * j], clock)
  local values = redis.call('HMGET', key, 'spent', 'reserved')
  local spent = tonumber(values[1]) or 0
  local reserved = tonumber(values[2]) or 0
  standing[#standing + 1] = spent
  standing[#standing + 1] = reserved
  local limit = tonumber(ARGV[budgetArg + 3 * (j - 1)])
  local amount = tonumber(ARGV[budgetArg + 3 * (j - 1) + 1])
  local soft = ARGV[budgetArg + 3 * (j - 1) + 2] == '1'
  if limit >= 0 then
    if (soft and spent + reserved >= limit) or (not soft and spent + reserved + amount > limit) then over[#over + 1] = j - 1 end
  end
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
  local amount = ARGV[budgetArg + 3 * (j - 1) + 1]
  if tonumber(amount) > 0 then
    local key = KEYS[budgetKey + 2 * j - 1]
    local held = KEYS[budgetKey + 2 * j]
    redis.call('HINCRBY', key, 'reserved', amount)
    redis.call('HSET', key, 'r:' .. callId, amount)
    redis.call('ZADD', held, clock + reservationTtl, callId)
    local lifetime = redis.call('PTTL', key)
    if lifetime > 0 then redis.call('PEXPIRE', held, lifetime) end
  end
end
result = {0}
for _, value in ipairs(standing) do result[#result + 1] = value end
return result
`;

/**
 * KEYS: (counter, held set) per budget, then token counters, then the call's closing record.
 * ARGV: #budgets, call id, actual cost per budget, delta per token counter, operation id, how long
 * the closing record is kept (ms). Replies (spent, reserved) per budget afterwards, -1 -1 for a
 * counter that is gone; an operation that ran already only replies.
 */
const SETTLE = `${COMMON}
local nBudgets = tonumber(ARGV[1])
local callId = ARGV[2]
local closing = KEYS[#KEYS]
local first = redis.call('SADD', closing, ARGV[#ARGV - 1]) == 1
redis.call('PEXPIRE', closing, ARGV[#ARGV])
local result = {}
for j = 1, nBudgets do
  local key = KEYS[2 * j - 1]
  if redis.call('EXISTS', key) == 0 then
    result[#result + 1] = -1
    result[#result + 1] = -1
  elseif not first then
    local values = redis.call('HMGET', key, 'spent', 'reserved')
    result[#result + 1] = tonumber(values[1]) or 0
    result[#result + 1] = tonumber(values[2]) or 0
  else
    if redis.call('ZREM', KEYS[2 * j], callId) == 1 then
      local amount = tonumber(redis.call('HGET', key, 'r:' .. callId)) or 0
      redis.call('HDEL', key, 'r:' .. callId)
      if redis.call('HINCRBY', key, 'reserved', int(-amount)) < 0 then redis.call('HSET', key, 'reserved', 0) end
    end
    result[#result + 1] = redis.call('HINCRBY', key, 'spent', ARGV[2 + j])
    result[#result + 1] = tonumber(redis.call('HGET', key, 'reserved')) or 0
  end
end
if not first then return result end
for i = 2 * nBudgets + 1, #KEYS - 1 do
  local key = KEYS[i]
  if redis.call('EXISTS', key) == 1 then
    if redis.call('INCRBY', key, ARGV[2 + nBudgets + (i - 2 * nBudgets)]) < 0 then redis.call('SET', key, 0, 'KEEPTTL') end
  end
end
return result
`;

/**
 * KEYS: (counter, held set) per budget. ARGV per counter: spent, lifetime ms, number of
 * reservations, then (call id, amount, lifetime ms) per reservation. Only absent counters are set;
 * their reservations are held again as admission holds them.
 */
const SEED = `${COMMON}
local clock = clockMs()
local arg = 1
for j = 1, #KEYS / 2 do
  local key = KEYS[2 * j - 1]
  local held = KEYS[2 * j]
  local spent = ARGV[arg]
  local lifetime = ARGV[arg + 1]
  local count = tonumber(ARGV[arg + 2])
  arg = arg + 3
  if redis.call('EXISTS', key) == 0 then
    local reserved = 0
    redis.call('HSET', key, 'spent', spent, 'reserved', 0)
    for r = 1, count do
      local callId = ARGV[arg + 3 * (r - 1)]
      local amount = tonumber(ARGV[arg + 3 * (r - 1) + 1])
      reserved = reserved + amount
      redis.call('HSET', key, 'r:' .. callId, int(amount))
      redis.call('ZADD', held, clock + tonumber(ARGV[arg + 3 * (r - 1) + 2]), callId)
    end
    redis.call('HSET', key, 'reserved', int(reserved))
    redis.call('PEXPIRE', key, lifetime)
    if count > 0 then redis.call('PEXPIRE', held, lifetime) end
  end
  arg = arg + 3 * count
end
return 0
`;

/** KEYS: budget counters and their held sets. Replies (spent, reserved) per counter, -1 -1 when absent, after lapsing expired reservations. */
const READ = `${COMMON}
local clock = clockMs()
local result = {}
for j = 1, #KEYS / 2 do
  local key = KEYS[2 * j - 1]
  if redis.call('EXISTS', key) == 1 then
    lapse(key, KEYS[2 * j], clock)
    local values = redis.call('HMGET', key, 'spent', 'reserved')
    result[#result + 1] = tonumber(values[1]) or 0
    result[#result + 1] = tonumber(values[2]) or 0
  else
    result[#result + 1] = -1
    result[#result + 1] = -1
  end
end
return result
`;

type ScriptArgs = (string | number)[];
interface LimitScripts {
  gatehouseLimitsAdmit(numberOfKeys: number, ...args: ScriptArgs): Promise<number[]>;
  gatehouseLimitsSettle(numberOfKeys: number, ...args: ScriptArgs): Promise<number[]>;
  gatehouseLimitsSeed(numberOfKeys: number, ...args: ScriptArgs): Promise<number>;
  gatehouseLimitsRead(numberOfKeys: number, ...args: ScriptArgs): Promise<number[]>;
}

/** Limits fail closed, so an unreachable Redis must surface as an error within a request's patience. */
export const REDIS_LIMITS_OPTIONS = { commandTimeout: 1_000, connectTimeout: 2_000, maxRetriesPerRequest: 1 } as const;

function limitArg(limit: number | null): number {
  return limit === null ? -1 : limit;
}

function standings(values: number[], count: number): BudgetStanding[] {
  return Array.from({ length: count }, (_, j) => ({ spent: values[2 * j]!, reserved: values[2 * j + 1]! }));
}

/** Standings where -1 -1 marks a counter that does not exist. */
function standingsOrGone(values: number[], count: number): (BudgetStanding | null)[] {
  return standings(values, count).map((standing) => (standing.spent < 0 ? null : standing));
}

/** The sorted set of call ids holding a reservation on a budget counter (same hash tag, same slot). */
export function heldKey(budgetKey: string): string {
  return `${budgetKey}:held`;
}

function budgetKeys(keys: string[]): string[] {
  return keys.flatMap((key) => [key, heldKey(key)]);
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
    redis.defineCommand('gatehouseLimitsRead', { lua: READ });
    this.redis = redis as Redis & LimitScripts;
  }

  static connect(url: string): RedisLimitStore {
    const redis = new Redis(url, REDIS_LIMITS_OPTIONS);
    // Errors reach callers through their commands; without a listener ioredis would also print each one.
    redis.on('error', () => undefined);
    return new RedisLimitStore(redis);
  }

  async admit(input: AdmitInput): Promise<AdmitResult> {
    const keys = [...input.rates.flatMap((rate) => [rate.currentKey, rate.previousKey]), ...budgetKeys(input.budgets.map((budget) => budget.key)), input.callKey];
    const args: ScriptArgs = [
      input.rates.length,
      input.budgets.length,
      input.nowMs,
      input.windowStartMs,
      input.windowMs,
      rateCounterExpiry(input.windowStartMs, input.windowMs) - input.nowMs,
      input.callId,
      Math.max(1, Math.ceil(input.reservationTtlMs)),
      ...input.rates.flatMap((rate) => [limitArg(rate.limit), rate.cost]),
      ...input.budgets.flatMap((budget) => [limitArg(budget.limit), budget.amount, budget.enforcement === 'soft' ? 1 : 0]),
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
      case 4:
        throw new Error(`call ${input.callId} was settled or released already; its admission reserved nothing`);
      default:
        throw new Error(`unexpected reply from the admission script: ${JSON.stringify(reply)}`);
    }
  }

  async settle(input: SettleInput): Promise<(BudgetStanding | null)[]> {
    if (!input.budgets.length && !input.tokens.length) return [];
    const keys = [...budgetKeys(input.budgets.map((budget) => budget.key)), ...input.tokens.map((token) => token.key), input.callKey];
    const args: ScriptArgs = [
      input.budgets.length,
      input.callId,
      ...input.budgets.map((budget) => budget.actual),
      ...input.tokens.map((token) => token.delta),
      input.operationId,
      CLOSED_CALL_MEMORY_MS,
    ];
    const reply = await this.redis.gatehouseLimitsSettle(keys.length, ...keys, ...args);
    return standingsOrGone(reply, input.budgets.length);
  }

  async seed(entries: SeedInput[]): Promise<void> {
    if (!entries.length) return;
    const args = entries.flatMap((entry) => [
      entry.spent,
      Math.max(1, Math.ceil(entry.ttlMs)),
      entry.reservations.length,
      ...entry.reservations.flatMap((reservation) => [reservation.callId, reservation.amount, Math.max(1, Math.ceil(reservation.ttlMs))]),
    ]);
    await this.redis.gatehouseLimitsSeed(entries.length * 2, ...budgetKeys(entries.map((entry) => entry.key)), ...args);
  }

  async read(keys: string[]): Promise<(BudgetStanding | null)[]> {
    if (!keys.length) return [];
    const reply = await this.redis.gatehouseLimitsRead(keys.length * 2, ...budgetKeys(keys));
    return standingsOrGone(reply, keys.length);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

