import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { pagePerTest, shootIfAsked, signInWithPassword } from './browser';

const baseUrl = inject('e2eBaseUrl');
const adminEmail = inject('e2eAdminEmail');
const adminPassword = inject('e2eAdminPassword');

// Screenshots: GATEHOUSE_E2E_SCREENSHOTS=docs npx vitest run -c e2e/vitest.config.ts e2e/tool-policy.e2e.ts

const browsing = pagePerTest(baseUrl);

async function decisionOf(page: Page, fields: { server: string; tool: string; roles: string; department?: string }): Promise<{ decision: string; text: string }> {
  const box = page.getByRole('form', { name: 'Test this rule' });
  await box.getByLabel('Server', { exact: true }).selectOption(fields.server);
  await box.getByLabel('Tool', { exact: true }).fill(fields.tool);
  await box.getByLabel('Roles', { exact: true }).fill(fields.roles);
  await box.getByLabel('Department', { exact: true }).selectOption({ label: fields.department ?? 'None' });
  const previous = await box.getByRole('status').textContent().catch(() => null);
  await box.getByRole('button', { name: 'Test' }).click();
  const result = box.getByRole('status', { name: 'Decision' });
  // Wait for this answer, not the one before it.
  await page.waitForFunction(
    ([before]) => {
      const region = document.querySelector('form[aria-label="Test this rule"] [aria-label="Decision"]');
      return region !== null && region.textContent !== before;
    },
    [previous],
  );
  const text = (await result.textContent()) ?? '';
  return { decision: /Decision:\s*(allow|ask|block)/.exec(text)?.[1] ?? '?', text };
}

describe('MCP servers and tool policy in the dashboard', () => {
  it('registers a server, adds a rule for a role, and sees the decision in the test box', async () => {
    const { page } = browsing;
    const suffix = randomBytes(3).toString('hex');
    const server = `notes-${suffix}`;
    const department = `Editors ${suffix}`;
    await signInWithPassword(page, adminEmail, adminPassword);
    await page.goto('/departments');
    const addDepartment = page.getByRole('form', { name: 'Add department' });
    await addDepartment.getByLabel('Department name').fill(department);
    await addDepartment.getByRole('button', { name: 'Create department' }).click();
    await addDepartment.getByRole('status').waitFor();
    await page.goto('/');
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link', { name: 'MCP servers' }).isVisible()).toBe(true);
    await nav.getByRole('link', { name: 'Tool policy' }).click();
    await page.getByRole('heading', { name: 'Tool policy', level: 1 }).waitFor();

    // A device-run server needs no network: its tools are declared.
    await nav.getByRole('link', { name: 'MCP servers' }).click();
    const register = page.getByRole('form', { name: 'Register a server' });
    await register.getByLabel('Name', { exact: true }).fill(server);
    await register.getByLabel('Transport', { exact: true }).selectOption('stdio');
    await register.getByLabel('Description', { exact: true }).fill('Team notes');
    await register.getByLabel('Command', { exact: true }).fill('npx');
    await register.getByLabel('Arguments (one per line)').fill('-y\n@acme/notes-mcp');
    await register.getByLabel('Tools (JSON)').fill(JSON.stringify([{ name: 'read_note', inputSchema: { type: 'object' } }, { name: 'delete_note', inputSchema: { type: 'object' } }]));
    await register.getByLabel('Everyone').check();
    await register.getByRole('button', { name: 'Register' }).click();
    expect(await register.getByRole('status').textContent()).toBe(`Registered ${server} (run on devices) with 2 declared tool(s).`);
    const row = page.getByRole('row').filter({ hasText: server });
    await row.waitFor();
    const cells = (await row.getByRole('cell').allTextContents()).map((text) => text.trim());
    expect(cells.slice(1, 5)).toEqual(['stdio', 'active', 'everyone', '2 (v1)']);
    await shootIfAsked(page, 'mcp-servers');

    await nav.getByRole('link', { name: 'Tool policy' }).click();
    const add = page.getByRole('form', { name: 'Add rule' });
    await add.getByLabel('Server', { exact: true }).selectOption(server);
    await add.getByLabel('Tool', { exact: true }).fill('delete_*');
    await add.getByLabel('Decision', { exact: true }).selectOption('block');
    await add.getByLabel('Applies to', { exact: true }).selectOption('role:member');
    await add.getByLabel('Description', { exact: true }).fill('Members keep the notes');
    await add.getByRole('button', { name: 'Add rule' }).click();
    expect(await add.getByRole('status').textContent()).toBe(`Added the rule: block ${server}/delete_*. The proxy and the hooks apply it within 5 seconds.`);
    const ruleRow = page.getByRole('row').filter({ hasText: `${server}/delete_*` });
    await ruleRow.waitFor();
    expect(await ruleRow.textContent()).toContain('role member');

    // A bad time window is refused, naming the field.
    await add.getByLabel('Tool', { exact: true }).fill('read_note');
    await add.getByLabel('From (HH:MM)').fill('9am');
    await add.getByRole('button', { name: 'Add rule' }).click();
    expect(await add.getByRole('alert').textContent()).toBe('Conditions.timeWindow.from: use HH:MM (24-hour), like 09:00.');

    // A department rule is more specific than the role rule.
    await add.getByLabel('Server', { exact: true }).selectOption(server);
    await add.getByLabel('Tool', { exact: true }).fill('delete_note');
    await add.getByLabel('From (HH:MM)').fill('');
    await add.getByLabel('Decision', { exact: true }).selectOption('ask');
    await add.getByLabel('Applies to', { exact: true }).selectOption({ label: department });
    await add.getByLabel('Description', { exact: true }).fill('Editors confirm deletions');
    await add.getByRole('button', { name: 'Add rule' }).click();
    await add.getByRole('status').waitFor();
    await page.getByRole('row').filter({ hasText: `department editors-${suffix}` }).waitFor();

    const editor = await decisionOf(page, { server, tool: 'delete_note', roles: 'member', department });
    expect(editor.decision).toBe('ask');
    expect(editor.text).toContain('Editors confirm deletions');
    const member = await decisionOf(page, { server, tool: 'delete_note', roles: 'member' });
    expect(member.decision).toBe('block');
    expect(member.text).toContain('Members keep the notes');
    expect(member.text).toContain(`in the scope of "${server}" (everyone)`);
    const author = await decisionOf(page, { server, tool: 'delete_note', roles: 'author' });
    expect(author.decision).toBe('allow');
    expect(author.text).toContain('no tool policy rule applies');
    await shootIfAsked(page, 'tool-policy');

    // Revoked, the server is refused to everyone: the test box says so.
    await nav.getByRole('link', { name: 'MCP servers' }).click();
    const revoke = page.getByRole('form', { name: `Revoke ${server}` });
    await revoke.getByLabel('Reason').fill('Replaced by the wiki');
    await revoke.getByRole('button', { name: 'Revoke' }).click();
    await revoke.getByRole('button', { name: 'Yes, revoke' }).click();
    await page.getByRole('row').filter({ hasText: server }).filter({ hasText: 'revoked' }).waitFor();
  }, 180_000);
});
