import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import pg, { type PoolConfig } from 'pg';
import { poolConfigFromUrl } from './connection';
import { dropDatabase, ensureDatabase } from './admin';

type EngineModule = typeof import('@prisma/schema-engine-wasm');

let enginePromise: Promise<EngineModule> | undefined;

/**
 * The package is a bundler-style wasm-bindgen module (`import * as wasm from '*.wasm'`), which
 * Node 20 cannot import without a flag, so we instantiate the WebAssembly ourselves and hand the
 * exports to its JS glue exactly as the generated entry file would.
 */
async function loadEngineModule(): Promise<EngineModule> {
  const require = createRequire(import.meta.url);
  const packageDir = path.dirname(require.resolve('@prisma/schema-engine-wasm'));
  const glue = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as EngineModule & {
    __wbg_set_wasm(exports: WebAssembly.Exports): void;
  };
  const bytes = await readFile(path.join(packageDir, 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, {
    './schema_engine_bg.js': glue as unknown as WebAssembly.ModuleImports,
  });
  glue.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return glue;
}

const PG_INTERNAL_CHAR_OID = 18;
const PG_TEXT_OID = 25;

/**
 * The schema engine's introspection reads catalog columns of PostgreSQL's internal `"char"` type
 * (pg_class.relkind and friends), which @prisma/adapter-pg 7.10 cannot map and rejects. Reporting
 * them as text is exact: their values already arrive as one-character strings.
 */
class CatalogFriendlyPool extends pg.Pool {
  override query(...args: unknown[]): never {
    const pending = (super.query as (...a: unknown[]) => unknown).apply(this, args);
    if (!(pending instanceof Promise)) return pending as never;
    return pending.then((result: pg.QueryResult) => {
      for (const field of result?.fields ?? []) {
        if (field.dataTypeID === PG_INTERNAL_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
      }
      return result;
    }) as never;
  }
}

type PgAdapter = Awaited<ReturnType<PrismaPg['connect']>>;

/**
 * The adapter splits migration scripts on every `;`, which breaks dollar-quoted function bodies.
 * PostgreSQL's simple query protocol takes the whole script at once, and runs it atomically.
 */
async function connectAdapter(config: PoolConfig): Promise<PgAdapter> {
  const adapter = await new PrismaPg(new CatalogFriendlyPool(config), { disposeExternalPool: true }).connect();
  adapter.executeScript = async (script: string) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (error) {
      (adapter as unknown as { onError(error: unknown): never }).onError(error);
    }
  };
  return adapter;
}

/**
 * PrismaPg's own shadow database drops the database while its pool still holds a connection,
 * which PostgreSQL refuses. This factory closes the shadow pool first and drops WITH (FORCE).
 */
function migrationAdapterFactory(config: PoolConfig): SqlMigrationAwareDriverAdapterFactory {
  const primary = new PrismaPg(config);
  const adminUrl = `postgres://${encodeURIComponent(config.user ?? '')}:${encodeURIComponent(String(config.password ?? ''))}@${config.host}:${config.port}/${config.database}`;
  return {
    provider: primary.provider,
    adapterName: primary.adapterName,
    connect: () => connectAdapter(config),
    async connectToShadowDb() {
      const database = `gatehouse_shadow_${randomUUID().replaceAll('-', '')}`;
      await ensureDatabase(adminUrl, database);
      const adapter = await connectAdapter({ ...config, database });
      const dispose = adapter.dispose.bind(adapter);
      adapter.dispose = async () => {
        await dispose();
        await dropDatabase(adminUrl, database);
      };
      return adapter;
    },
  };
}

export const SCHEMA_PATH = 'prisma/schema.prisma';

export async function openSchemaEngine(databaseUrl: string, schema: string): Promise<SchemaEngine> {
  enginePromise ??= loadEngineModule();
  const engineModule = await enginePromise;
  const adapterFactory = bindMigrationAwareSqlAdapterFactory(migrationAdapterFactory(poolConfigFromUrl(databaseUrl)));
  const log = (message: string) => {
    if (process.env.GATEHOUSE_DEBUG_MIGRATIONS) process.stderr.write(`${message}\n`);
  };
  return engineModule.SchemaEngine.new({ datamodels: [[SCHEMA_PATH, schema]] }, log, adapterFactory);
}
