// `npx tsx scripts/pricing-snapshot.ts`: writes lib/gateway/pricing/snapshot.json from the price
// data bundled in @pydantic/genai-prices (the installed version; nothing is fetched). The JSON is
// committed, so a price changes only when someone regenerates it and the change is reviewed.
//
// Prices become integer picodollars per token (USD per million tokens × 1e6), the unit the
// gateway computes in, so costs are exact integer arithmetic from here on.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findProvider, type MatchLogic, type ModelInfo, type ModelPrice, type TieredPrices } from '@pydantic/genai-prices';
import type { PriceSnapshot, SnapshotModel, SnapshotRates, SnapshotTier } from '@/lib/gateway/pricing/snapshot-types';

const OUTPUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../lib/gateway/pricing/snapshot.json');

/**
 * Which public price lists to keep, in lookup order, and which of their models: Anthropic's in
 * full, Gemini's chat models, and the chat models of the providers an OpenAI-compatible route
 * typically reaches.
 */
const PROVIDERS: { id: string; keep: (model: ModelInfo) => boolean }[] = [
  { id: 'anthropic', keep: () => true },
  { id: 'openai', keep: (m) => /^(gpt-|o\d|chatgpt-|codex-)/.test(m.id) && !/(audio|realtime|transcribe|tts|image|search|embedding|moderation|instruct|vision|0301|0613|1106|16k|32k)/.test(m.id) },
  // Gemini, for the gemini and vertex provider types (Vertex's Claude models are Anthropic's).
  { id: 'google', keep: (m) => /^gemini-/.test(m.id) && !/(embedding|image|tts|live|audio)/.test(m.id) },
  { id: 'groq', keep: (m) => !/^(whisper|llama-guard|meta-llama\/llama-guard)/.test(m.id) },
  { id: 'deepseek', keep: () => true },
  { id: 'mistral', keep: (m) => !/(embed|ocr|voxtral)/.test(m.id) },
  { id: 'fireworks', keep: (m) => /(llama|qwen|deepseek|gpt-oss|kimi|glm)/.test(m.id) },
  { id: 'together', keep: (m) => /^(meta-llama\/(Llama-3\.3|Llama-4|Meta-Llama-3\.1)|Qwen\/)/.test(m.id) },
];

const PRICE_KEYS = { input: 'input_mtok', output: 'output_mtok', cache_write: 'cache_write_mtok', cache_read: 'cache_read_mtok' } as const;
type RateName = keyof typeof PRICE_KEYS;

/** USD per million tokens → picodollars per token; refuses anything that is not a whole number of them. */
function picodollars(usdPerMillionTokens: number, where: string): number {
  const scaled = usdPerMillionTokens * 1e6;
  const whole = Math.round(scaled);
  if (Math.abs(scaled - whole) > 1e-6 || !Number.isSafeInteger(whole) || whole < 0) throw new Error(`${where}: ${usdPerMillionTokens} $/MTok is not a whole number of picodollars per token`);
  return whole;
}

/**
 * Per-use fees of server tools the upstream runs (Anthropic's web search: USD per thousand
 * searches) → picodollars per use. None for a model whose price list has no such fee.
 */
function serverToolFees(prices: ModelPrice, where: string): SnapshotModel['server_tools'] {
  const perThousand = prices.web_searches_kcount;
  if (typeof perThousand !== 'number') return undefined;
  const perUse = perThousand * 1e9;
  if (!Number.isSafeInteger(Math.round(perUse)) || Math.abs(perUse - Math.round(perUse)) > 1e-6) throw new Error(`${where}: web search fee ${perThousand} $/k is not whole picodollars`);
  return { web_search: Math.round(perUse) };
}

function isTiered(value: unknown): value is TieredPrices {
  return typeof value === 'object' && value !== null && 'base' in value && 'tiers' in value;
}

/**
 * The prices in force for new requests: the latest start_date entry already in effect, ignoring
 * time-of-day discounts (a reservation must hold whenever the request runs, so the regular
 * price is the one to budget with).
 */
function currentPrices(model: ModelInfo, now: Date): ModelPrice {
  if (!Array.isArray(model.prices)) return model.prices;
  let chosen = model.prices[0]!.prices;
  for (const entry of model.prices) {
    const constraint = entry.constraint;
    if (constraint === undefined) chosen = entry.prices;
    else if (constraint.type === 'start_date' && new Date(constraint.start_date) <= now) chosen = entry.prices;
  }
  return chosen;
}

/** Rates at the base tier and at every threshold any of the four rates changes at. */
function rates(prices: ModelPrice, where: string): SnapshotRates & { tiers?: SnapshotTier[] } {
  const thresholds = new Set<number>();
  for (const key of Object.values(PRICE_KEYS)) {
    const value = prices[key];
    if (isTiered(value)) for (const tier of value.tiers) thresholds.add(tier.start);
  }
  const at = (promptTokens: number): SnapshotRates => {
    const pick = (name: RateName): number | undefined => {
      const value = prices[PRICE_KEYS[name]];
      if (value === undefined) return undefined;
      if (!isTiered(value)) return picodollars(value, `${where} ${name}`);
      // A tier applies once the prompt is strictly longer than its start (genai-prices' rule).
      let price = value.base;
      for (const tier of [...value.tiers].sort((a, b) => a.start - b.start)) if (promptTokens > tier.start) price = tier.price;
      return picodollars(price, `${where} ${name}`);
    };
    const input = pick('input');
    const output = pick('output');
    if (input === undefined || output === undefined) throw new Error(`${where}: no input or output price`);
    // No published cache rate: charge the input rate, never less than the provider could.
    return { input, output, cache_write: pick('cache_write') ?? input, cache_read: pick('cache_read') ?? input };
  };
  const sorted = [...thresholds].sort((a, b) => a - b);
  return {
    ...at(0),
    ...(sorted.length ? { tiers: sorted.map((start) => ({ above_prompt_tokens: start, ...at(start + 1) })) } : {}),
  };
}

function installedVersion(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('@pydantic/genai-prices');
  const manifest = path.join(main.slice(0, main.lastIndexOf(`${path.sep}dist${path.sep}`)), 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

const now = new Date();
const models: SnapshotModel[] = [];
for (const { id, keep } of PROVIDERS) {
  const provider = findProvider({ providerId: id });
  if (!provider) throw new Error(`@pydantic/genai-prices has no provider "${id}"`);
  for (const model of provider.models) {
    if (model.deprecated || !keep(model)) continue;
    const prices = currentPrices(model, now);
    if (prices.input_mtok === undefined || prices.output_mtok === undefined) continue; // not priced per token
    const { tiers, ...base } = rates(prices, `${id}/${model.id}`);
    const serverTools = serverToolFees(prices, `${id}/${model.id}`);
    models.push({ provider: id, id: model.id, match: model.match as MatchLogic, rates: base, ...(tiers ? { tiers } : {}), ...(serverTools ? { server_tools: serverTools } : {}) });
  }
}

const snapshot: PriceSnapshot = {
  source: `@pydantic/genai-prices ${installedVersion()}`,
  generated_at: now.toISOString().slice(0, 10),
  unit: 'picodollars per token (USD per million tokens x 1e6)',
  models,
};
// One model per line, so a regenerated file reviews as a list of changed prices.
const { models: listed, ...header } = snapshot;
const headerJson = JSON.stringify(header, null, 2).slice(0, -2);
writeFileSync(OUTPUT, `${headerJson},\n  "models": [\n${listed.map((m) => `    ${JSON.stringify(m)}`).join(',\n')}\n  ]\n}\n`);
console.log(`wrote ${models.length} models to ${path.relative(process.cwd(), OUTPUT)}`);
