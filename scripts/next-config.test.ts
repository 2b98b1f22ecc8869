// next.config.mjs is plain JavaScript (README, "Idle memory": a TypeScript config keeps Next's SWC
// binding mapped), so tsc does not check it: the settings that matter are asserted here.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { NextConfig } from 'next';
import { describe, expect, it } from 'vitest';
import { UPLOAD_LIMITS } from '@/lib/plugins/limits';

const { default: config } = (await import(path.join(process.cwd(), 'next.config.mjs'))) as { default: NextConfig };

/** Next's size notation ('12mb') in bytes. */
function bytes(size: unknown): number {
  const match = /^(\d+)(kb|mb)$/.exec(String(size));
  if (!match) throw new Error(`unexpected size ${String(size)}`);
  return Number(match[1]) * (match[2] === 'mb' ? 1024 * 1024 : 1024);
}

describe('next.config.mjs', () => {
  it('loads route bundles on first request, not at start', () => {
    expect(config.experimental?.preloadEntriesOnStart).toBe(false);
  });

  it('accepts Server Action bodies as large as a plugin archive', () => {
    expect(bytes(config.experimental?.serverActions?.bodySizeLimit)).toBeGreaterThan(UPLOAD_LIMITS.maxArchiveBytes);
  });

  it('keeps the database, queue and cloud credential packages out of the bundles', () => {
    expect(config.serverExternalPackages).toEqual(
      expect.arrayContaining(['pg', '@prisma/client', '@prisma/adapter-pg', 'bullmq', 'ioredis', '@aws-sdk/credential-provider-node', 'google-auth-library', '@azure/identity']),
    );
  });

  it('sends no X-Powered-By header and runs React in strict mode', () => {
    expect(config.poweredByHeader).toBe(false);
    expect(config.reactStrictMode).toBe(true);
  });

  it("passes Next's own schema of its options (unknown or misspelt options fail it)", () => {
    // The schema Next checks the config against when it starts (next/dist/server/config.js).
    const { configSchema } = createRequire(import.meta.url)('next/dist/server/config-schema') as { configSchema: { safeParse(value: unknown): { success: boolean; error?: unknown } } };
    const result = configSchema.safeParse(config);
    expect(result.error).toBeUndefined();
    expect(result.success).toBe(true);
    expect(configSchema.safeParse({ ...config, experimental: { ...config.experimental, preloadEntriesOnstart: false } }).success).toBe(false);
  });
});
