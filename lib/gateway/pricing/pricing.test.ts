import { describe, expect, it } from 'vitest';
import { calcPrice } from '@pydantic/genai-prices';
import { parseGatehouseConfig } from '@/lib/config';
import type { UpstreamTarget, Usage } from '@/lib/gateway/contracts';
import type { CompletionSummary } from '@/lib/gateway/contracts';
import { billedUsage, costMicrodollars, PRICE_SNAPSHOT, priceBookFor, worstCaseCostMicrodollars, type Price } from './index';

const usage = (input: number, output: number, cacheWrite = 0, cacheRead = 0): Usage => ({
  input_tokens: input,
  output_tokens: output,
  cache_creation_input_tokens: cacheWrite,
  cache_read_input_tokens: cacheRead,
});

const flat = (input: number, output: number, cacheWrite = input, cacheRead = input): Price => ({ source: 'config', id: 'test', input, output, cacheWrite, cacheRead, tiers: [], webSearch: 0 });

const target = (providerType: UpstreamTarget['providerType'], model: string): UpstreamTarget => ({ provider: providerType, providerType, baseUrl: 'http://127.0.0.1:1', model });

const book = priceBookFor(
  parseGatehouseConfig(
    `
providers:
  anthropic: { type: anthropic, base_url: 'http://127.0.0.1:1' }
models:
  claude-sonnet-4-5:
    targets: [{ provider: anthropic, model: claude-sonnet-4-5 }]
    price: { input_per_mtok_microdollars: 2500000, output_per_mtok_microdollars: 12000000 }
  claude-haiku-4-5:
    targets: [{ provider: anthropic, model: claude-haiku-4-5 }]
    price: { input_per_mtok_microdollars: 900000, output_per_mtok_microdollars: 4000000, cache_write_per_mtok_microdollars: 1000000, cache_read_per_mtok_microdollars: 50000 }
  local-qwen:
    targets: [{ provider: anthropic, model: qwen3 }]
    price: { input_per_mtok_microdollars: 0, output_per_mtok_microdollars: 0 }
`,
    'gatehouse.yaml',
  ),
);

describe('costMicrodollars', () => {
  it('prices each token class exactly in integers', () => {
    // $3/MTok in, $15/MTok out, $3.75 write, $0.30 read.
    const sonnet = flat(3_000_000, 15_000_000, 3_750_000, 300_000);
    expect(costMicrodollars(usage(1_000_000, 0), sonnet)).toBe(3_000_000);
    expect(costMicrodollars(usage(1000, 500, 2000, 10_000), sonnet)).toBe(3000 + 7500 + 7500 + 3000);
    // 1 token of input at $3/MTok is 3 microdollars exactly.
    expect(costMicrodollars(usage(1, 0), sonnet)).toBe(3);
    expect(Number.isInteger(costMicrodollars(usage(12_345, 6_789, 1_111, 99_999), sonnet))).toBe(true);
  });

  it('rounds the total once, half up, to the microdollar', () => {
    // $0.0375/MTok = 37,500 p$/token: 13 tokens = 487,500 p$ = 0.4875 µ$ → 0; 14 tokens = 0.525 → 1.
    const cheap = flat(37_500, 0);
    expect(costMicrodollars(usage(13, 0), cheap)).toBe(0);
    expect(costMicrodollars(usage(14, 0), cheap)).toBe(1);
    // Exactly half a microdollar rounds up.
    expect(costMicrodollars(usage(1, 0), flat(500_000, 0))).toBe(1);
    expect(costMicrodollars(usage(1, 0), flat(499_999, 0))).toBe(0);
    // Rounding happens on the sum, not per class: 0.4 + 0.4 = 0.8 → 1 (per class it would be 0).
    expect(costMicrodollars(usage(1, 1), flat(400_000, 400_000))).toBe(1);
  });

  it('stays exact beyond 2^53 picodollars', () => {
    // 1e9 output tokens at $100/MTok = $100,000 exactly; the picodollar product is 1e17.
    expect(costMicrodollars(usage(0, 1_000_000_000), flat(0, 100_000_000))).toBe(100_000_000_000);
    expect(costMicrodollars(usage(999_999_999, 0), flat(3_000_001, 0))).toBe(3_000_000_997);
  });

  it('ignores negative or fractional token counts from an odd upstream', () => {
    expect(costMicrodollars(usage(-5, 2.9), flat(1_000_000, 1_000_000))).toBe(2);
    expect(costMicrodollars(usage(Number.NaN, 0), flat(1_000_000, 1_000_000))).toBe(0);
  });

  it('applies long-context rates to the whole request once the prompt passes the threshold', () => {
    const price = book.priceFor('claude-sonnet-4-5-20250929', target('anthropic', 'claude-sonnet-4-5-20250929'))!;
    expect(price.source).toBe('snapshot');
    expect(price.tiers[0]).toMatchObject({ abovePromptTokens: 200_000, input: 6_000_000, output: 22_500_000 });
    expect(costMicrodollars(usage(200_000, 1000), price)).toBe(600_000 + 15_000);
    // 100,000 uncached + 100,001 cache reads = 200,001 prompt tokens: everything at the higher rate.
    // 600,000 + 22,500 + 60,000.6 µ$ = 682,500.6 → 682,501.
    expect(costMicrodollars(usage(100_000, 1000, 0, 100_001), price)).toBe(682_501);
  });

  it('agrees with genai-prices itself on its own data', () => {
    const price = book.priceFor('claude-opus-4-1', target('anthropic', 'claude-opus-4-1-20250805'))!;
    const theirs = calcPrice({ input_tokens: 4740 + 4735 + 1000, cache_write_tokens: 4735, cache_read_tokens: 1000, output_tokens: 255 }, 'claude-opus-4-1-20250805', { providerId: 'anthropic' });
    expect(theirs).not.toBeNull();
    expect(costMicrodollars(usage(4740, 255, 4735, 1000), price)).toBe(Math.round(theirs!.total_price * 1e6));
  });
});

describe('worstCaseCostMicrodollars', () => {
  it('bills the prompt at the dearer of input and cache write, and all of max_tokens, rounding up', () => {
    const sonnet = flat(3_000_000, 15_000_000, 3_750_000, 300_000);
    expect(worstCaseCostMicrodollars(10_000, 32_000, sonnet)).toBe(37_500 + 480_000);
    expect(worstCaseCostMicrodollars(1, 0, flat(1, 0))).toBe(1);
    expect(worstCaseCostMicrodollars(0, 0, sonnet)).toBe(0);
    // Never below the actual cost of any usage within the estimate.
    const actual = costMicrodollars(usage(3000, 32_000, 7000, 0), sonnet);
    expect(worstCaseCostMicrodollars(10_000, 32_000, sonnet)).toBeGreaterThanOrEqual(actual);
  });
});

describe('priceFor', () => {
  it('prefers the YAML override for the requested model, taking unwritten cache rates from the public data', () => {
    const price = book.priceFor('claude-sonnet-4-5', target('anthropic', 'claude-sonnet-4-5'))!;
    expect(price).toMatchObject({ source: 'config', id: 'models.claude-sonnet-4-5.price', input: 2_500_000, output: 12_000_000, cacheWrite: 3_750_000, cacheRead: 300_000, tiers: [] });
    expect(book.priceFor('claude-haiku-4-5')).toMatchObject({ cacheWrite: 1_000_000, cacheRead: 50_000 });
    // No public data for the target: cache rates fall back to the input rate (here, free).
    expect(book.priceFor('local-qwen', target('openai_compatible', 'qwen3'))).toMatchObject({ input: 0, output: 0, cacheWrite: 0, cacheRead: 0 });
  });

  it('finds the snapshot entry by the target model, including cloud-prefixed names', () => {
    expect(book.priceFor('claude-opus-4-5', target('bedrock', 'us.anthropic.claude-opus-4-5-20251101-v1:0'))).toMatchObject({ id: 'anthropic/claude-opus-4-5', input: 5_000_000, output: 25_000_000, cacheWrite: 6_250_000, cacheRead: 500_000 });
    expect(book.priceFor('claude-opus-4-5', target('vertex', 'claude-opus-4-5@20251101'))).toMatchObject({ id: 'anthropic/claude-opus-4-5' });
    expect(book.priceFor('claude-sonnet-4-6', target('openai', 'gpt-4o'))).toMatchObject({ id: 'openai/gpt-4o', input: 2_500_000, cacheRead: 1_250_000, cacheWrite: 2_500_000 });
    expect(book.priceFor('claude-sonnet-4-6', target('groq', 'qwen/qwen3-32b'))).toMatchObject({ id: 'groq/qwen/qwen3-32b' });
  });

  it('falls back to the requested model id, and to null when nothing prices it', () => {
    expect(book.priceFor('claude-haiku-3-nonexistent')).toBeNull();
    expect(book.priceFor('claude-opus-4-1', target('openai_compatible', 'my-finetune'))).toMatchObject({ id: 'anthropic/claude-opus-4-1' });
    expect(book.priceFor('my-model', target('openai_compatible', 'my-finetune'))).toBeNull();
  });

  it('ships a snapshot of whole picodollar rates for the Anthropic models', () => {
    expect(PRICE_SNAPSHOT.source).toMatch(/^@pydantic\/genai-prices /);
    const anthropic = PRICE_SNAPSHOT.models.filter((m) => m.provider === 'anthropic');
    expect(anthropic.length).toBeGreaterThan(10);
    for (const model of PRICE_SNAPSHOT.models) {
      for (const value of Object.values(model.rates)) expect(Number.isSafeInteger(value) && value >= 0).toBe(true);
    }
  });
});

describe('billedUsage', () => {
  const completion = (overrides: Partial<CompletionSummary>): CompletionSummary => ({ usage: null, stopReason: null, responseModel: null, responseId: null, content: [], timeToFirstByteMs: null, ...overrides });

  it('bills the final usage the upstream reported as is', () => {
    expect(billedUsage(completion({ usage: usage(10, 20), outputBytes: 3000 }), { estimatedInputTokens: 99 })).toEqual({ usage: usage(10, 20), estimated: false });
  });

  it('estimates when the final usage never came: the prompt from the stream start, the output from what was produced', () => {
    expect(billedUsage(completion({ startUsage: usage(12, 1, 5, 7), outputBytes: 60 }), { estimatedInputTokens: 99 })).toEqual({ usage: usage(12, 20, 5, 7), estimated: true });
    // No start, or a translation's all-zero placeholder: the admission estimate.
    expect(billedUsage(completion({ outputBytes: 61 }), { estimatedInputTokens: 99 })).toEqual({ usage: usage(99, 21), estimated: true });
    expect(billedUsage(completion({ startUsage: usage(0, 0), outputBytes: 0 }), { estimatedInputTokens: 99 })).toEqual({ usage: usage(99, 0), estimated: true });
    expect(billedUsage(null, { estimatedInputTokens: 5 })).toEqual({ usage: usage(5, 0), estimated: true });
  });

  it('prices web searches at the per-search fee the snapshot publishes', () => {
    const price = book.priceFor('claude-opus-4-5', target('anthropic', 'claude-opus-4-5-20251101'))!;
    expect(price.webSearch).toBe(10_000_000_000);
    expect(costMicrodollars({ ...usage(0, 0), server_tool_use: { web_search_requests: 3 } }, price)).toBe(30_000);
    expect(worstCaseCostMicrodollars(0, 0, price, { webSearches: 2 })).toBe(20_000);
  });
});
