import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const CHECKPOINT_MEMORY_FILE = 'checkpoint-state.json';

/** The last checkpoint this key holder signed for a tenant, as it signed it. */
export interface RememberedCheckpoint {
  number: number;
  seq: number;
  /** hex */
  hash: string;
  signed_at: string;
  key_id: string;
}

interface MemoryFile {
  version: 1;
  tenants: Record<string, RememberedCheckpoint>;
}

/**
 * The signer's own record of its latest checkpoint per tenant, kept beside its key (mode 0600),
 * outside the database. Someone who can delete checkpoint rows cannot make this file forget: a
 * verifier on this host sees checkpoints missing from the database, or replaced.
 */
export class CheckpointMemory {
  private constructor(
    readonly file: string,
    private readonly state: MemoryFile,
  ) {}

  static async open(dataDir: string): Promise<CheckpointMemory> {
    const file = path.join(dataDir, CHECKPOINT_MEMORY_FILE);
    if (!existsSync(file)) return new CheckpointMemory(file, { version: 1, tenants: {} });
    const parsed = JSON.parse(await readFile(file, 'utf8')) as MemoryFile;
    if (parsed.version !== 1 || typeof parsed.tenants !== 'object' || parsed.tenants === null) throw new Error(`${file}: not a checkpoint state file`);
    return new CheckpointMemory(file, parsed);
  }

  get(tenantId: string): RememberedCheckpoint | undefined {
    return this.state.tenants[tenantId];
  }

  async remember(tenantId: string, checkpoint: RememberedCheckpoint): Promise<void> {
    const current = this.state.tenants[tenantId];
    if (current && current.number >= checkpoint.number) return;
    this.state.tenants[tenantId] = checkpoint;
    // Written aside and renamed, so a crash mid-write leaves the previous state, never half a file.
    await mkdir(path.dirname(this.file), { recursive: true });
    const next = `${this.file}.${process.pid}.tmp`;
    await writeFile(next, `${JSON.stringify(this.state, null, 2)}\n`, { mode: 0o600 });
    await chmod(next, 0o600);
    await rename(next, this.file);
  }
}
