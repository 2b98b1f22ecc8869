import path from 'node:path';
import { describe, expect, it } from 'vitest';

interface NodeFlags {
  CHILD_NODE_FLAGS: Record<'web' | 'worker', string[]>;
  childNodeFlags(name: 'web' | 'worker', env: Record<string, string | undefined>): string[];
}
const { CHILD_NODE_FLAGS, childNodeFlags } = (await import(path.join(process.cwd(), 'scripts', 'lib', 'node-flags.mjs'))) as NodeFlags;

describe('childNodeFlags', () => {
  it('gives the web and worker processes their V8 flags, none of them a testing flag', () => {
    expect(childNodeFlags('web', {})).toEqual(['--no-wasm-tier-up', '--no-wasm-dynamic-tiering']);
    expect(childNodeFlags('worker', {})).toEqual(['--no-wasm-tier-up', '--no-wasm-dynamic-tiering', '--max-semi-space-size=2']);
    expect([...CHILD_NODE_FLAGS.web, ...CHILD_NODE_FLAGS.worker]).not.toContain('--liftoff-only');
  });

  it('leaves out an option NODE_OPTIONS names, with dashes or underscores', () => {
    expect(childNodeFlags('worker', { NODE_OPTIONS: '--max-semi-space-size=8' })).toEqual(['--no-wasm-tier-up', '--no-wasm-dynamic-tiering']);
    expect(childNodeFlags('worker', { NODE_OPTIONS: '--enable-source-maps --max_semi_space_size=8' })).toEqual(['--no-wasm-tier-up', '--no-wasm-dynamic-tiering']);
    expect(childNodeFlags('worker', { NODE_OPTIONS: '--max-old-space-size=512' })).toEqual(['--no-wasm-tier-up', '--no-wasm-dynamic-tiering', '--max-semi-space-size=2']);
  });

  it('takes GATEHOUSE_NODE_FLAGS instead when set, empty meaning none', () => {
    expect(childNodeFlags('worker', { GATEHOUSE_NODE_FLAGS: '' })).toEqual([]);
    expect(childNodeFlags('web', { GATEHOUSE_NODE_FLAGS: ' --max-semi-space-size=4  --stack-trace-limit=50 ' })).toEqual(['--max-semi-space-size=4', '--stack-trace-limit=50']);
  });

  it('gives flags a Node child accepts', async () => {
    const { execFileSync } = await import('node:child_process');
    const flags = [...new Set([...CHILD_NODE_FLAGS.web, ...CHILD_NODE_FLAGS.worker])];
    expect(execFileSync(process.execPath, [...flags, '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' })).toBe('ok');
  });
});
