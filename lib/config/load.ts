import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from './errors';
import { parseGatehouseConfig } from './parse';
import { policyVersion } from './policy-version';
import type { GatehouseConfig } from './schema';

export interface ConfigSnapshot {
  config: GatehouseConfig;
  /** `pv_` + 16 hex characters; see policy-version.ts. */
  policyVersion: string;
  loadedAt: Date;
  /** 'defaults' when the file does not exist. */
  source: 'file' | 'defaults';
  /** Absolute path of the file watched (whether or not it exists). */
  path: string;
}

/** Paths in messages stay short when the file sits under the working directory. */
export function displayName(absolutePath: string): string {
  const relative = path.relative(process.cwd(), absolutePath);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : absolutePath;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

function unreadable(absolutePath: string, error: unknown): ConfigError {
  const file = displayName(absolutePath);
  return new ConfigError(file, [{ file, line: null, field: '', message: `cannot read: ${(error as Error).message}` }]);
}

/** Builds a snapshot from file text, or from nothing (null) for the all-defaults configuration. */
export function snapshotFromText(text: string | null, absolutePath: string): ConfigSnapshot {
  const config = parseGatehouseConfig(text ?? '', displayName(absolutePath));
  return { config, policyVersion: policyVersion(config), loadedAt: new Date(), source: text === null ? 'defaults' : 'file', path: absolutePath };
}

/** The file's text, or null when it does not exist. Throws ConfigError when it cannot be read. */
export function readConfigTextSync(absolutePath: string): string | null {
  try {
    return readFileSync(absolutePath, 'utf8');
  } catch (error) {
    if (isMissing(error)) return null;
    throw unreadable(absolutePath, error);
  }
}

export async function readConfigText(absolutePath: string): Promise<string | null> {
  try {
    return await readFile(absolutePath, 'utf8');
  } catch (error) {
    if (isMissing(error)) return null;
    throw unreadable(absolutePath, error);
  }
}

/** One-shot load (CLI checks, bootstrap): parses the file, or returns defaults when it is absent. */
export function loadGatehouseConfig(file: string): ConfigSnapshot {
  const absolutePath = path.resolve(file);
  return snapshotFromText(readConfigTextSync(absolutePath), absolutePath);
}
