import type { ModelConfig, ProviderType } from '@/lib/config';
import type { UpstreamTarget } from '@/lib/gateway/contracts';
import type { Price, PriceTier, TokenRates } from './cost';
import { candidateNames, matchesModel } from './match';
import type { PriceSnapshot, SnapshotModel, SnapshotRates } from './snapshot-types';

/** Which public price lists describe a provider type's models, in the order to search them. */
const SNAPSHOT_PROVIDERS: Partial<Record<ProviderType, readonly string[]>> = {
  anthropic: ['anthropic'],
  bedrock: ['anthropic'],
  vertex: ['anthropic', 'google'],
  gemini: ['google'],
  foundry: ['anthropic'],
  openai: ['openai'],
  azure: ['openai'],
  groq: ['groq'],
};

function fromSnapshotRates(rates: SnapshotRates): TokenRates {
  return { input: rates.input, output: rates.output, cacheWrite: rates.cache_write, cacheRead: rates.cache_read };
}

function fromSnapshot(model: SnapshotModel): Price {
  const tiers: PriceTier[] = (model.tiers ?? []).map((tier) => ({ abovePromptTokens: tier.above_prompt_tokens, ...fromSnapshotRates(tier) }));
  return { source: 'snapshot', id: `${model.provider}/${model.id}`, ...fromSnapshotRates(model.rates), tiers, webSearch: model.server_tools?.web_search ?? 0 };
}

// Bounded so a stream of made-up model names cannot grow memory without end.
const MAX_CACHED_LOOKUPS = 2_000;

/**
 * Prices for one configuration: gatehouse.yaml's `models.<id>.price` overrides first, then the
 * pinned public snapshot. Lookups are memoised, so pricing on the hot path is a map read.
 */
export class PriceBook {
  private readonly byProvider = new Map<string, SnapshotModel[]>();
  private readonly snapshotLookups = new Map<string, Price | null>();
  private readonly overrides = new Map<string, Price>();

  constructor(
    private readonly models: Readonly<Record<string, ModelConfig>>,
    private readonly snapshot: PriceSnapshot,
  ) {
    for (const model of snapshot.models) {
      const list = this.byProvider.get(model.provider) ?? [];
      list.push(model);
      this.byProvider.set(model.provider, list);
    }
  }

  /**
   * The price of a request for `modelId` (the id the client asked for) served by `target`:
   * the YAML override for `modelId`, else the snapshot entry for the target's own model name,
   * else the snapshot entry for `modelId`. Null when none is known.
   */
  priceFor(modelId: string, target?: UpstreamTarget): Price | null {
    return this.override(modelId, target) ?? (target ? this.fromSnapshot(target.model, target.providerType) : null) ?? this.fromSnapshot(modelId);
  }

  private override(modelId: string, target: UpstreamTarget | undefined): Price | null {
    if (!Object.hasOwn(this.models, modelId)) return null;
    const configured = this.models[modelId]!.price;
    if (!configured) return null;
    let price = this.overrides.get(modelId);
    if (!price) {
      // Cache rates not written in the file come from the public data for the same model.
      const published = (target ? this.fromSnapshot(target.model, target.providerType) : null) ?? this.fromSnapshot(modelId);
      const input = configured.input_per_mtok_microdollars;
      price = {
        source: 'config',
        id: `models.${modelId}.price`,
        input,
        output: configured.output_per_mtok_microdollars,
        cacheWrite: configured.cache_write_per_mtok_microdollars ?? published?.cacheWrite ?? input,
        cacheRead: configured.cache_read_per_mtok_microdollars ?? published?.cacheRead ?? input,
        // A configured price is the whole price: public long-context tiers would contradict it.
        tiers: [],
        // Microdollars per thousand searches → picodollars per search.
        webSearch: configured.web_search_per_thousand_microdollars !== undefined ? configured.web_search_per_thousand_microdollars * 1000 : (published?.webSearch ?? 0),
      };
      this.overrides.set(modelId, price);
    }
    return price;
  }

  private fromSnapshot(name: string, providerType?: ProviderType): Price | null {
    const key = `${providerType ?? '*'}\u0000${name}`;
    const cached = this.snapshotLookups.get(key);
    if (cached !== undefined) return cached;
    const preferred = (providerType && SNAPSHOT_PROVIDERS[providerType]) || [...this.byProvider.keys()];
    let found: Price | null = null;
    search: for (const candidate of candidateNames(name)) {
      for (const provider of preferred) {
        const model = this.byProvider.get(provider)?.find((entry) => matchesModel(entry.match, candidate));
        if (model) {
          found = fromSnapshot(model);
          break search;
        }
      }
    }
    if (this.snapshotLookups.size >= MAX_CACHED_LOOKUPS) this.snapshotLookups.clear();
    this.snapshotLookups.set(key, found);
    return found;
  }
}
