// The SQL of audit checkpoints: the only module that reads or writes audit_checkpoints.
import type { Queryable } from './queryable';

export interface StoredCheckpoint {
  tenant_id: string;
  number: number;
  seq: number;
  hash: Buffer;
  signed_at: Date;
  key_id: string;
  public_key: string;
  statement: string;
  signature: Buffer;
  recorded_at: Date;
}

interface CheckpointRow extends Omit<StoredCheckpoint, 'number' | 'seq'> {
  number: string;
  seq: string;
}

const COLUMNS = 'tenant_id::text AS tenant_id, number, seq, hash, signed_at, key_id, public_key, statement, signature, recorded_at';

function fromRow(row: CheckpointRow): StoredCheckpoint {
  return { ...row, number: Number(row.number), seq: Number(row.seq) };
}

/** Every checkpoint of one tenant (or all), by tenant and number. */
export async function listCheckpoints(database: Queryable, tenantId?: string): Promise<StoredCheckpoint[]> {
  const { rows } = await database.query<CheckpointRow>(
    `SELECT ${COLUMNS} FROM audit_checkpoints WHERE ($1::uuid IS NULL OR tenant_id = $1::uuid) ORDER BY tenant_id, number`,
    [tenantId ?? null],
  );
  return rows.map(fromRow);
}

/** A tenant's checkpoints from the newest down, `limit` at a time, below `belowNumber` when given. */
export async function newestCheckpoints(database: Queryable, tenantId: string, limit: number, belowNumber?: number): Promise<StoredCheckpoint[]> {
  const { rows } = await database.query<CheckpointRow>(
    `SELECT ${COLUMNS} FROM audit_checkpoints WHERE tenant_id = $1 AND ($2::bigint IS NULL OR number < $2::bigint)
     ORDER BY number DESC LIMIT $3`,
    [tenantId, belowNumber ?? null, limit],
  );
  return rows.map(fromRow);
}

export async function checkpointNumbered(database: Queryable, tenantId: string, number: number): Promise<StoredCheckpoint | undefined> {
  const { rows } = await database.query<CheckpointRow>(`SELECT ${COLUMNS} FROM audit_checkpoints WHERE tenant_id = $1 AND number = $2`, [tenantId, number]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Tenants that have checkpoints (a chain deleted outright still has them). */
export async function checkpointTenants(database: Queryable): Promise<string[]> {
  const { rows } = await database.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id::text AS tenant_id FROM audit_checkpoints ORDER BY 1');
  return rows.map((row) => row.tenant_id);
}

/** False when that number is already taken (another worker signed this round first). */
export async function insertCheckpoint(database: Queryable, checkpoint: Omit<StoredCheckpoint, 'recorded_at'>): Promise<boolean> {
  const result = await database.query(
    `INSERT INTO audit_checkpoints (tenant_id, number, seq, hash, signed_at, key_id, public_key, statement, signature)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant_id, number) DO NOTHING`,
    [checkpoint.tenant_id, checkpoint.number, checkpoint.seq, checkpoint.hash, checkpoint.signed_at, checkpoint.key_id, checkpoint.public_key, checkpoint.statement, checkpoint.signature],
  );
  return result.rowCount === 1;
}

export interface ChainHeadRow {
  tenant_id: string;
  seq: number;
  hash: Buffer;
}

/** Chain heads with at least one event. */
export async function chainHeads(database: Queryable, tenantIds?: readonly string[]): Promise<ChainHeadRow[]> {
  const { rows } = await database.query<{ tenant_id: string; seq: string; hash: Buffer }>(
    `SELECT tenant_id::text AS tenant_id, seq, hash FROM audit_chain_heads
     WHERE seq > 0 AND hash IS NOT NULL AND ($1::uuid[] IS NULL OR tenant_id = ANY($1::uuid[])) ORDER BY tenant_id`,
    [tenantIds ?? null],
  );
  return rows.map((row) => ({ tenant_id: row.tenant_id, seq: Number(row.seq), hash: row.hash }));
}

/** The stored hashes of the events at `seq` (normally one; more is a break plain verification reports). */
export async function eventHashesAt(database: Queryable, tenantId: string, seq: number): Promise<{ hash: Buffer; event_id: string }[]> {
  const { rows } = await database.query<{ hash: Buffer; event_id: string }>(
    'SELECT hash, event_id::text AS event_id FROM audit_events WHERE tenant_id = $1 AND seq = $2',
    [tenantId, seq],
  );
  return rows;
}
