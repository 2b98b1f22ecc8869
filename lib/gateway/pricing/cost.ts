import type { Usage } from '@/lib/gateway/contracts';

/** Integer picodollars per token, i.e. USD per million tokens × 1e6 ($3/MTok = 3,000,000). */
export interface TokenRates {
  input: number;
  output: number;
  /** 5-minute prompt-cache writes. */
  cacheWrite: number;
  cacheRead: number;
}

/** Rates for a whole request once its prompt is longer than `abovePromptTokens` (long-context pricing). */
export interface PriceTier extends TokenRates {
  abovePromptTokens: number;
}

export interface Price extends TokenRates {
  /** `config` for a gatehouse.yaml override, `snapshot` for the pinned public price data. */
  source: 'config' | 'snapshot';
  /** Which entry priced it: `models.<id>.price`, or `<provider>/<model>` in the snapshot. */
  id: string;
  /** Ascending by threshold; empty for a flat price. */
  tiers: readonly PriceTier[];
  /** Integer picodollars per web search the upstream runs (Anthropic's server tool); 0 when no fee is known. */
  webSearch: number;
}

/** Paid server-tool uses a request allows, reserved at their per-use price before it runs. */
export interface ServerToolAllowance {
  webSearches: number;
}

const PICODOLLARS_PER_MICRODOLLAR = 1_000_000n;

/** Token counts as non-negative whole numbers: an upstream's odd value must not make cost negative or fractional. */
function tokens(value: number): bigint {
  return Number.isFinite(value) && value > 0 ? BigInt(Math.trunc(value)) : 0n;
}

/** The rates a request is billed at: the highest tier its prompt length passes, else the base rates. */
export function ratesFor(price: Price, promptTokens: number): TokenRates {
  let rates: TokenRates = price;
  for (const tier of price.tiers) if (promptTokens > tier.abovePromptTokens) rates = tier;
  return rates;
}

function toMicrodollars(picodollars: bigint, rounding: 'half_up' | 'up'): number {
  const offset = rounding === 'up' ? PICODOLLARS_PER_MICRODOLLAR - 1n : PICODOLLARS_PER_MICRODOLLAR / 2n;
  return Number((picodollars + offset) / PICODOLLARS_PER_MICRODOLLAR);
}

/**
 * The cost of a response in integer microdollars. Each token class is multiplied exactly
 * (BigInt picodollars, so no float ever touches money) and the total is rounded once, half up,
 * to the microdollar: a request is never charged more than half a microdollar away from the
 * exact price, and summing requests does not accumulate per-class rounding.
 *
 * `usage.input_tokens` is the uncached part of the prompt, as Anthropic reports it; the prompt
 * length that selects a long-context tier is input + cache writes + cache reads.
 */
export function costMicrodollars(usage: Usage, price: Price): number {
  const input = tokens(usage.input_tokens);
  const output = tokens(usage.output_tokens);
  const cacheWrite = tokens(usage.cache_creation_input_tokens);
  const cacheRead = tokens(usage.cache_read_input_tokens);
  const searches = tokens(usage.server_tool_use?.web_search_requests ?? 0);
  const rates = ratesFor(price, Number(input + cacheWrite + cacheRead));
  const picodollars =
    input * BigInt(rates.input) +
    output * BigInt(rates.output) +
    cacheWrite * BigInt(rates.cacheWrite) +
    cacheRead * BigInt(rates.cacheRead) +
    searches * BigInt(price.webSearch);
  return toMicrodollars(picodollars, 'half_up');
}

/**
 * The most a request can cost before it runs, rounded up: every prompt token billed at the
 * dearer of the input and cache-write rates (the client may ask to cache the whole prompt) and
 * the full `max_tokens` of output. This is what a budget reserves, so concurrent requests cannot
 * together spend past a strict budget while each costs no more than its reservation. The tier is
 * chosen by the estimate, so the estimate should err long (the pipeline counts characters
 * generously). Server tools the request allows are reserved at their per-use fee.
 */
export function worstCaseCostMicrodollars(estimatedInputTokens: number, maxOutputTokens: number, price: Price, serverTools?: ServerToolAllowance): number {
  const prompt = tokens(estimatedInputTokens);
  const rates = ratesFor(price, Number(prompt));
  const picodollars =
    prompt * BigInt(Math.max(rates.input, rates.cacheWrite)) + tokens(maxOutputTokens) * BigInt(rates.output) + tokens(serverTools?.webSearches ?? 0) * BigInt(price.webSearch);
  return toMicrodollars(picodollars, 'up');
}
