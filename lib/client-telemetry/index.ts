// Claude Code's own telemetry (OTLP /v1/metrics and /v1/logs), stored per user and UTC day beside
// the gateway's figures. Import from '@/lib/client-telemetry'.
import type pg from 'pg';
import { extractClientFigures } from './figures';
import { addClientFigures } from './repository';

export { extractClientFigures, type ClientFigures } from './figures';
export { fieldOf, objectOf, type OtlpNode } from './otlp-node';
export { clientVersusGateway, type ClientVersusGateway } from './repository';

type Node = Record<string, unknown>;

/** Stores what one export says about the user's use; resolves once committed (nothing to store: at once). */
export async function recordClientTelemetry(database: pg.Pool, tenantId: string, userId: string, signal: 'metrics' | 'logs', exportRequest: Node): Promise<void> {
  const { figures, cumulative } = extractClientFigures(signal, exportRequest);
  if (figures.length === 0 && cumulative.length === 0) return;
  await addClientFigures(database, tenantId, userId, figures, cumulative);
}
