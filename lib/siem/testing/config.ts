import { gatehouseConfigSchema, type GatehouseConfig } from '@/lib/config';

/** A validated configuration from a plain object (tests build sinks without a file). */
export function parseGatehouseConfigObject(value: unknown): GatehouseConfig {
  return gatehouseConfigSchema.parse(value);
}
