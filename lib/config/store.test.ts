import { once } from 'node:events';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from './errors';
import { ConfigStore, type ConfigLogger, type ConfigReloadRecord } from './store';

const GOOD = `tenant:
  name: Acme
  slug: acme
audit:
  partitions_ahead: 2
`;

function capturingLogger(): ConfigLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

let directory: string;
let file: string;
let store: ConfigStore | undefined;

beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'gatehouse-config-'));
  file = path.join(directory, 'gatehouse.yaml');
});

afterEach(async () => {
  await store?.close();
  store = undefined;
  await rm(directory, { recursive: true, force: true });
});

function openStore(records: ConfigReloadRecord[] = [], logger = capturingLogger()) {
  store = new ConfigStore({ path: file, pollIntervalMs: 250, debounceMs: 20, logger, recordReload: async (r) => void records.push(r) });
  return store;
}

describe('ConfigStore', () => {
  it('starts from defaults when the file is absent, and says so', () => {
    const logger = capturingLogger();
    const current = openStore([], logger).current();
    expect(current.source).toBe('defaults');
    expect(current.config.tenant.slug).toBe('default');
    expect(logger.lines).toEqual([`info config: ${file} not found, using defaults (${current.policyVersion})`]);
  });

  it('applies edits silently where another process reports them: no lines, no audit record', async () => {
    await writeFile(file, GOOD);
    const records: ConfigReloadRecord[] = [];
    const logger = capturingLogger();
    store = new ConfigStore({ path: file, pollIntervalMs: 250, debounceMs: 20, logger, recordReload: async (r) => void records.push(r), report: false });
    const changed = once(store, 'change');
    await writeFile(file, GOOD.replace('partitions_ahead: 2', 'partitions_ahead: 3'));
    await changed;
    expect(store.current().config.audit.partitions_ahead).toBe(3);
    const refused = once(store, 'invalid');
    await writeFile(file, 'audit:\n  partitions_ahead: lots\n');
    await refused;
    expect(logger.lines).toEqual([]);
    expect(records).toEqual([]);
  });

  it('leaves the first load unannounced when a supervisor already named the file', async () => {
    await writeFile(file, GOOD);
    const logger = capturingLogger();
    store = new ConfigStore({ path: file, watch: false, logger, announceLoad: false });
    expect(store.current().source).toBe('file');
    expect(logger.lines).toEqual([]);
  });

  it('refuses to start on an invalid file, naming line and field', async () => {
    await writeFile(file, 'audit:\n  partitions_ahead: lots\n');
    expect(() => openStore()).toThrow(ConfigError);
    expect(() => openStore()).toThrow(/gatehouse\.yaml:2: audit\.partitions_ahead: expected number, got string "lots"/);
  });

  it('swaps in a good edit, then keeps it when a broken edit follows', async () => {
    await writeFile(file, GOOD);
    const records: ConfigReloadRecord[] = [];
    const logger = capturingLogger();
    const configs = openStore(records, logger);
    const first = configs.current();
    expect(first.source).toBe('file');
    expect(first.config.audit.partitions_ahead).toBe(2);

    const changed = once(configs, 'change');
    await writeFile(file, GOOD.replace('partitions_ahead: 2', 'partitions_ahead: 4'));
    const [next, previous] = (await changed) as [ReturnType<ConfigStore['current']>, ReturnType<ConfigStore['current']>];
    expect(previous.policyVersion).toBe(first.policyVersion);
    expect(next.policyVersion).not.toBe(first.policyVersion);
    expect(configs.current()).toBe(next);
    expect(configs.current().config.audit.partitions_ahead).toBe(4);
    expect(logger.lines).toContain(`info config reloaded: ${first.policyVersion} → ${next.policyVersion}`);

    const refused = once(configs, 'invalid');
    await writeFile(file, `${GOOD.replace('partitions_ahead: 2', 'partitions_ahead: 4')}routes:\n  - match: {}\n    model: 7\n`);
    const [error] = (await refused) as [ConfigError];
    expect(error.issues).toEqual([{ file: expect.stringMatching(/gatehouse\.yaml$/), line: 8, field: 'routes[0].model', message: 'expected string, got 7' }]);
    expect(configs.lastError).toBe(error);
    expect(configs.current()).toBe(next);
    const rejection = logger.lines.filter((line) => line.startsWith('error '));
    expect(rejection).toHaveLength(1);
    expect(rejection[0]).toMatch(new RegExp(`^error config rejected, keeping ${next.policyVersion}: .*gatehouse\\.yaml:8: routes\\[0\\]\\.model: expected string, got 7$`));

    expect(records.map((r) => r.outcome)).toEqual(['success', 'failure']);
  });

  it('catches editors that save by renaming a new file over the old one', async () => {
    await writeFile(file, GOOD);
    const configs = openStore();
    const changed = once(configs, 'change');
    const temporary = path.join(directory, '.gatehouse.yaml.swp');
    await writeFile(temporary, GOOD.replace('name: Acme', 'name: Acme Corp'));
    await rename(temporary, file);
    await changed;
    expect(configs.current().config.tenant.name).toBe('Acme Corp');
    expect(configs.lastError).toBeNull();
  });

  it('polls for changes fs.watch does not name, like a Kubernetes ConfigMap swapping its ..data link', async () => {
    // The mounted layout: gatehouse.yaml -> ..data/gatehouse.yaml, ..data -> ..<version>.
    await mkdir(path.join(directory, '..v1'));
    await writeFile(path.join(directory, '..v1', 'gatehouse.yaml'), GOOD);
    await symlink('..v1', path.join(directory, '..data'));
    await symlink(path.join('..data', 'gatehouse.yaml'), file);
    const configs = openStore();
    const changed = once(configs, 'change');

    await mkdir(path.join(directory, '..v2'));
    await writeFile(path.join(directory, '..v2', 'gatehouse.yaml'), GOOD.replace('name: Acme', 'name: Acme v2'));
    await symlink('..v2', path.join(directory, '..data_tmp'));
    await rename(path.join(directory, '..data_tmp'), path.join(directory, '..data'));
    await changed;
    expect(configs.current().config.tenant.name).toBe('Acme v2');
  });

  it('clears lastError when a broken file is fixed, and ignores edits that change nothing', async () => {
    await writeFile(file, GOOD);
    const records: ConfigReloadRecord[] = [];
    const configs = openStore(records);
    const original = configs.current();

    await writeFile(file, 'tenant: [\n');
    expect(await configs.reload()).toBe('rejected');
    expect(configs.lastError?.issues[0]?.line).toBeGreaterThan(0);

    await writeFile(file, `# comments do not change policy\n${GOOD}`);
    expect(await configs.reload()).toBe('unchanged');
    expect(configs.lastError).toBeNull();
    expect(configs.current()).toBe(original);

    await rm(file);
    expect(await configs.reload()).toBe('unchanged');
    expect(configs.current()).toBe(original);
    expect(records.map((r) => r.outcome)).toEqual(['failure']);
  });
});
