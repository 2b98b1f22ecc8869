import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { closeDatabase, db } from '@/lib/db/client';

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

afterAll(() => closeDatabase());

describe('gatehouse mcp policy', () => {
  it('adds a department rule, lists it, tests it for two users, refuses bad input in one line, and removes it', async () => {
    const suffix = randomBytes(3).toString('hex');
    const admin = `policy-admin-${suffix}@example.com`;
    const payer = `policy-pay-${suffix}@example.com`;
    const marketer = `policy-mkt-${suffix}@example.com`;
    const created = await Promise.all([
      gatehouse('users', 'create', '--email', admin, '--name', 'Policy Admin', '--role', 'admin'),
      gatehouse('users', 'create', '--email', payer, '--name', 'Payer', '--department', `Payments ${suffix}`),
      gatehouse('users', 'create', '--email', marketer, '--name', 'Marketer', '--department', `Marketing ${suffix}`),
    ]);
    expect(created.map((result) => result.stderr)).toEqual(['', '', '']);
    const owner = await db().user.findUniqueOrThrow({ where: { email: admin } });
    const server = `stripe-${suffix}`;
    const registered = await db().mcpServer.create({ data: { tenantId: owner.tenantId, name: server, ownerId: owner.id, transport: 'streamable_http', url: 'https://mcp.stripe.example/mcp' } });
    await db().mcpServerScope.create({ data: { serverId: registered.id, kind: 'everyone', subject: '' } });

    const added = await gatehouse('mcp', 'policy', 'add', '--server', server, '--tool', 'create_*', '--department', `marketing-${suffix}`, '--decision', 'block', '--description', 'Marketing does not move money', '--as', admin);
    expect(added.stderr).toBe('');
    const id = /^added rule ([0-9a-f-]{36}): block stripe-\w+\/create_\* for department marketing-\w+$/.exec(added.stdout.trim())?.[1];
    expect(id, added.stdout).toBeDefined();

    const [listed, blocked, allowed, badDecision, unknownServer, twoPrincipals] = await Promise.all([
      gatehouse('mcp', 'policy', 'list', '--server', server, '--json', '--as', admin),
      gatehouse('mcp', 'policy', 'test', '--server', server, '--tool', 'create_charge', '--user', marketer, '--args', '{"amount": 100}', '--as', admin),
      gatehouse('mcp', 'policy', 'test', '--server', server, '--tool', 'create_charge', '--user', payer, '--as', admin),
      gatehouse('mcp', 'policy', 'add', '--server', server, '--tool', '*', '--everyone', '--decision', 'deny', '--as', admin),
      gatehouse('mcp', 'policy', 'add', '--server', 'nowhere', '--tool', '*', '--everyone', '--decision', 'block', '--as', admin),
      gatehouse('mcp', 'policy', 'add', '--server', server, '--tool', '*', '--everyone', '--role', 'member', '--decision', 'block', '--as', admin),
    ]);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ id, server, tool: 'create_*', principalKind: 'department', decision: 'block', failMode: 'closed', principalLabel: `department marketing-${suffix}` }]);
    expect(blocked.stdout).toMatch(new RegExp(`^decision: +block$`, 'm'));
    expect(blocked.stdout).toMatch(new RegExp(`^rule: +${id} "Marketing does not move money" \\(block stripe-\\w+/create_\\* for department marketing-\\w+; conditions: none\\)$`, 'm'));
    expect(blocked.stdout).toMatch(/^why: +stripe-\w+\/create_charge blocked by tool policy rule /m);
    expect(blocked.stdout).toMatch(/^scope: +in the scope of "stripe-\w+" \(everyone\)$/m);
    expect(allowed.stdout).toMatch(/^decision: +allow$/m);
    expect(allowed.stdout).toMatch(/^rule: +none$/m);
    expect(badDecision).toMatchObject({ code: 1, stderr: 'gatehouse: decision: the decision is allow, ask, block\n' });
    expect(unknownServer.stderr).toBe('gatehouse: server: no MCP server named "nowhere" is registered (register it first, or use * for any server or claude for the client\'s built-in tools)\n');
    expect(twoPrincipals).toMatchObject({ code: 2, stderr: 'gatehouse: name exactly one of --department, --role, --user or --everyone\n' });

    const removed = await gatehouse('mcp', 'policy', 'remove', id!, '--as', admin);
    expect(removed.stdout.trim()).toBe(`removed rule ${id} (block ${server}/create_*)`);
    const after = await gatehouse('mcp', 'policy', 'test', '--server', server, '--tool', 'create_charge', '--user', marketer, '--as', admin);
    expect(after.stdout).toMatch(/^decision: +allow$/m);
  }, 300_000);
});
