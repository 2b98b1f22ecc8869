import type { MatchLogic } from '@pydantic/genai-prices';

/** Integer picodollars per token (USD per million tokens × 1e6). */
export interface SnapshotRates {
  input: number;
  output: number;
  /** 5-minute prompt-cache writes. */
  cache_write: number;
  cache_read: number;
}

/** Rates for a whole request once its prompt (input + cache write + cache read) is longer than the threshold. */
export interface SnapshotTier extends SnapshotRates {
  above_prompt_tokens: number;
}

export interface SnapshotModel {
  /** genai-prices provider id (anthropic, openai, groq...). */
  provider: string;
  id: string;
  /** genai-prices' model-name matcher (equals / starts_with / ... / or / and). */
  match: MatchLogic;
  rates: SnapshotRates;
  tiers?: SnapshotTier[];
  /** Per-use fees of server tools, picodollars per use (web_search: one search). */
  server_tools?: { web_search?: number };
}

/** lib/gateway/pricing/snapshot.json, written by scripts/pricing-snapshot.ts. */
export interface PriceSnapshot {
  source: string;
  generated_at: string;
  unit: string;
  models: SnapshotModel[];
}
