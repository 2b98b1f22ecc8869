// The gateway's price book: integer picodollars per token, exact integer microdollar costs.
import { configStore, type GatehouseConfig } from '@/lib/config';
import type { UpstreamTarget } from '@/lib/gateway/contracts';
import { PriceBook } from './book';
import type { Price } from './cost';
import snapshotJson from './snapshot.json' with { type: 'json' };
import type { PriceSnapshot } from './snapshot-types';

export { costMicrodollars, ratesFor, worstCaseCostMicrodollars, type Price, type PriceTier, type ServerToolAllowance, type TokenRates } from './cost';
export { PriceBook } from './book';
export { billedUsage, unseenCallUsage, type BilledUsage } from './billed-usage';
export type { PriceSnapshot } from './snapshot-types';

/** The pinned public price data (scripts/pricing-snapshot.ts). */
export const PRICE_SNAPSHOT = snapshotJson as PriceSnapshot;

// One book per configuration object: a reload builds a new one, nothing to invalidate by hand.
const books = new WeakMap<GatehouseConfig, PriceBook>();

export function priceBookFor(config: GatehouseConfig): PriceBook {
  let book = books.get(config);
  if (!book) {
    book = new PriceBook(config.models, PRICE_SNAPSHOT);
    books.set(config, book);
  }
  return book;
}

/**
 * The price of a request for `modelId` (the id the client asked for) when `target` serves it,
 * under the configuration in force: gatehouse.yaml `models.<modelId>.price` first, then the
 * snapshot by the target's model name, then by `modelId`. Null when nothing prices it.
 */
export function priceFor(modelId: string, target?: UpstreamTarget): Price | null {
  return priceBookFor(configStore().current().config).priceFor(modelId, target);
}
