import { EventEmitter } from 'node:events';
import { statSync, watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from './errors';
import { displayName, readConfigText, readConfigTextSync, snapshotFromText, type ConfigSnapshot } from './load';

export interface ConfigLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What happened on one reload attempt, for the audit trail. */
export type ConfigReloadRecord =
  | { outcome: 'success'; previous: ConfigSnapshot; next: ConfigSnapshot }
  | { outcome: 'failure'; previous: ConfigSnapshot; error: ConfigError };

export type ConfigReloadRecorder = (record: ConfigReloadRecord) => Promise<void>;

export interface ConfigStoreOptions {
  /** The gatehouse.yaml to load and watch (relative paths resolve against the working directory). */
  path: string;
  /** Start watching the file for edits; default true. */
  watch?: boolean;
  /** How often to compare the file's stat as a fallback to fs.watch; default 2000 ms. */
  pollIntervalMs?: number;
  /** Editors write a file in several steps; wait this long after the last event; default 100 ms. */
  debounceMs?: number;
  logger?: ConfigLogger;
  /** Records reloads (the audit trail in production); absent = nothing recorded. */
  recordReload?: ConfigReloadRecorder;
  /**
   * Whether this store speaks for the file: logs what each load and reload did and records it.
   * False where another process watching the same file reports it (see configStore()); the
   * store still applies every edit. Default true.
   */
  report?: boolean;
  /** Whether to log the first load (default: `report`); false when a supervisor already did. */
  announceLoad?: boolean;
}

export type ReloadResult = 'changed' | 'unchanged' | 'rejected';

interface ConfigStoreEvents {
  change: [next: ConfigSnapshot, previous: ConfigSnapshot];
  invalid: [error: ConfigError];
}

function fileSignature(stats: { mtimeMs: number; size: number; ino: number } | null): string {
  return stats ? `${stats.mtimeMs}:${stats.size}:${stats.ino}` : 'missing';
}

const SILENT: ConfigLogger = { info: () => {}, warn: () => {}, error: () => {} };

/** One line however many issues, so log search for "config rejected" shows the whole story. */
function oneLine(error: ConfigError): string {
  return error.message.split('\n').join('; ');
}

/**
 * Holds the configuration in force and keeps it in step with the file. A valid edit replaces the
 * snapshot in one assignment (readers never see half a config); an invalid edit is refused and the
 * last good snapshot stays, because a typo must never switch policy off.
 */
export class ConfigStore extends EventEmitter<ConfigStoreEvents> {
  readonly path: string;
  /** Why the latest edit was refused; null once the file is valid again. */
  lastError: ConfigError | null = null;

  private snapshot: ConfigSnapshot;
  private lastText: string | null;
  private lastSignature = '';
  private readonly logger: ConfigLogger;
  private readonly recordReload: ConfigReloadRecorder | undefined;
  /** Where outcomes (loaded, reloaded, rejected, removed) go: the logger, or nowhere when another process reports them. */
  private readonly outcomes: ConfigLogger;
  private readonly debounceMs: number;
  private readonly pollIntervalMs: number;
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private reloading: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Loads the file synchronously; throws ConfigError when it is invalid, since there is no last good version yet. */
  constructor(options: ConfigStoreOptions) {
    super();
    this.path = path.resolve(options.path);
    this.logger = options.logger ?? console;
    const report = options.report ?? true;
    this.outcomes = report ? this.logger : SILENT;
    this.recordReload = report ? options.recordReload : undefined;
    this.debounceMs = options.debounceMs ?? 100;
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.lastText = readConfigTextSync(this.path);
    this.snapshot = snapshotFromText(this.lastText, this.path);
    if (options.announceLoad ?? report) {
      if (this.snapshot.source === 'defaults') {
        this.logger.info(`config: ${displayName(this.path)} not found, using defaults (${this.snapshot.policyVersion})`);
      } else {
        this.logger.info(`config: loaded ${displayName(this.path)} (${this.snapshot.policyVersion})`);
      }
    }
    if (options.watch ?? true) this.startWatching();
  }

  current(): ConfigSnapshot {
    return this.snapshot;
  }

  /** Re-reads the file now. Calls are serialised, so overlapping triggers cannot interleave. */
  reload(): Promise<ReloadResult> {
    const run = this.reloading.then(() => this.reloadNow());
    this.reloading = run.catch(() => undefined);
    return run;
  }

  /** Stops watching and waits for a reload in progress. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.debounceTimer);
    clearInterval(this.pollTimer);
    this.watcher?.close();
    this.watcher = undefined;
    await this.reloading;
  }

  private startWatching(): void {
    const directory = path.dirname(this.path);
    const base = path.basename(this.path);
    try {
      // The directory, not the file: editors that save by writing a new file and renaming it
      // over the old one would otherwise leave us watching a deleted inode.
      this.watcher = watch(directory, { persistent: false }, (_event, filename) => {
        if (filename === null || filename.toString() === base) this.scheduleReload();
      });
      this.watcher.on('error', (error) => {
        this.logger.warn(`config: watching ${directory} failed (${error.message}); polling every ${this.pollIntervalMs} ms`);
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (error) {
      this.logger.warn(`config: cannot watch ${directory} (${(error as Error).message}); polling every ${this.pollIntervalMs} ms`);
    }
    // fs.watch misses events on some file systems (network mounts, some container volumes).
    this.lastSignature = fileSignature(statSync(this.path, { throwIfNoEntry: false }) ?? null);
    this.pollTimer = setInterval(() => void this.poll(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  private async currentSignature(): Promise<string> {
    return fileSignature(await stat(this.path).catch(() => null));
  }

  private async poll(): Promise<void> {
    const signature = await this.currentSignature();
    if (signature === this.lastSignature) return;
    this.lastSignature = signature;
    this.scheduleReload();
  }

  private scheduleReload(): void {
    if (this.closed) return;
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      void this.reload().catch((error: Error) => this.logger.error(`config: reload failed: ${error.message}`));
    }, this.debounceMs);
    this.debounceTimer.unref();
  }

  private async reloadNow(): Promise<ReloadResult> {
    if (this.closed) return 'unchanged';
    let text: string | null;
    try {
      text = await readConfigText(this.path);
    } catch (error) {
      if (error instanceof ConfigError) return this.reject(error);
      throw error;
    }
    // The same bytes seen again (watch and poll both firing, a touch) need no work and no log.
    if (text === this.lastText) return 'unchanged';
    this.lastText = text;
    if (text === null) {
      // Treating a vanished file as "defaults" would silently drop policy mid-flight (and
      // editors remove files briefly while saving), so the last good version stays.
      this.outcomes.warn(`config: ${displayName(this.path)} was removed; keeping ${this.snapshot.policyVersion}`);
      return 'unchanged';
    }

    let next: ConfigSnapshot;
    try {
      next = snapshotFromText(text, this.path);
    } catch (error) {
      if (error instanceof ConfigError) return this.reject(error, text);
      throw error;
    }
    this.lastError = null;
    const previous = this.snapshot;
    if (next.policyVersion === previous.policyVersion) {
      this.outcomes.info(`config: ${displayName(this.path)} edited, policy unchanged (${previous.policyVersion})`);
      return 'unchanged';
    }
    this.snapshot = next;
    this.outcomes.info(`config reloaded: ${previous.policyVersion} → ${next.policyVersion}`);
    this.emit('change', next, previous);
    await this.record({ outcome: 'success', previous, next });
    return 'changed';
  }

  /** `text` is what was read, so the same broken bytes are not reported twice. */
  private async reject(error: ConfigError, text?: string): Promise<ReloadResult> {
    if (text !== undefined) this.lastText = text;
    this.lastError = error;
    this.outcomes.error(`config rejected, keeping ${this.snapshot.policyVersion}: ${oneLine(error)}`);
    this.emit('invalid', error);
    await this.record({ outcome: 'failure', previous: this.snapshot, error });
    return 'rejected';
  }

  private async record(record: ConfigReloadRecord): Promise<void> {
    if (!this.recordReload) return;
    try {
      await this.recordReload(record);
    } catch (error) {
      // The new config is already in force; a failed audit write must not undo or hide that.
      this.logger.error(`config: could not record the reload in the audit trail: ${(error as Error).message}`);
    }
  }
}
