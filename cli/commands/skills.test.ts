import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readZip } from '@/lib/plugins/zip';

const exec = promisify(execFile);

async function gatehouse(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['cli/gatehouse.mjs', ...args], { env: process.env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const md = (name: string, body: string) => `---\nname: ${name}\ndescription: About ${name}.\n---\n\n${body}\n`;

describe('gatehouse skills', () => {
  it('imports a folder for a user, lists, exports a zip that imports back, and refuses bad input in one line', async () => {
    const email = `skills-cli-${Date.now()}@example.com`;
    expect((await gatehouse('users', 'create', '--email', email, '--name', 'Skills User')).code).toBe(0);
    const dir = await mkdtemp(path.join(tmpdir(), 'skills-cli-'));
    await mkdir(path.join(dir, 'in', 'summarise', 'examples'), { recursive: true });
    await mkdir(path.join(dir, 'in', 'translate'), { recursive: true });
    await writeFile(path.join(dir, 'in', 'summarise', 'SKILL.md'), md('summarise', 'Summarise $ARGUMENTS'));
    await writeFile(path.join(dir, 'in', 'summarise', 'examples', 'one.md'), 'Example');
    await writeFile(path.join(dir, 'in', 'translate', 'SKILL.md'), md('translate', 'Translate'));

    const imported = await gatehouse('skills', 'import', '--user', email, path.join(dir, 'in'));
    expect(imported.stderr).toBe('');
    expect(imported.stdout.split('\n').filter(Boolean)).toEqual(['created   summarise (version 1)', 'created   translate (version 1)']);

    const listed = await gatehouse('skills', 'list', '--user', email, '--json');
    expect(JSON.parse(listed.stdout)).toMatchObject([{ name: 'summarise', version: 1, sharing: 'private', description: 'About summarise.' }, { name: 'translate', version: 1 }]);

    const out = path.join(dir, 'out.zip');
    const exported = await gatehouse('skills', 'export', '--user', email, '--out', out);
    expect(exported.stdout.trim()).toBe(`wrote 2 skills to ${out}`);
    expect(readZip(await readFile(out)).map((entry) => entry.name)).toEqual(['summarise/SKILL.md', 'summarise/examples/one.md', 'translate/SKILL.md']);
    const again = await gatehouse('skills', 'import', '--user', email, out);
    expect(again.stdout.split('\n').filter(Boolean)).toEqual(['unchanged summarise (version 1)', 'unchanged translate (version 1)']);

    await writeFile(path.join(dir, 'bad.md'), '---\nname: Not Valid\ndescription: x\n---\nbody\n');
    const [bad, nobody, missingUser] = await Promise.all([
      gatehouse('skills', 'import', '--user', email, path.join(dir, 'bad.md')),
      gatehouse('skills', 'list', '--user', 'nobody@example.com'),
      gatehouse('skills', 'list'),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('gatehouse: SKILL.md:2: name may use only lower-case letters, digits and single hyphens (a-z, 0-9, -), not at the start or end\n');
    expect(nobody.stderr).toBe('gatehouse: no active user with email nobody@example.com\n');
    expect(missingUser.code).toBe(2);
    expect(missingUser.stderr.trim()).toBe('gatehouse: --user is required');
  }, 300_000);
});
