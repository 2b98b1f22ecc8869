// Test support (imported by tests only): a small but complete plugin, as files.

export interface SampleOptions {
  name?: string;
  version?: string;
  description?: string;
  /** Extra or replaced files, by path. */
  files?: Record<string, string>;
  withHooks?: boolean;
  withMcp?: boolean;
}

export function samplePluginFiles(options: SampleOptions = {}): Record<string, string> {
  const name = options.name ?? 'acme-tools';
  const files: Record<string, string> = {
    '.claude-plugin/plugin.json': `${JSON.stringify({ name, version: options.version ?? '1.0.0', description: options.description ?? 'Tools the ACME teams share', author: { name: 'ACME Platform' }, keywords: ['acme'] }, null, 2)}\n`,
    'README.md': `# ${name}\n\nShared tools for ACME teams. The hello skill greets, the greet command says hello to someone by name, and the reviewer agent reads a change and lists what to look at.\n`,
    'skills/hello/SKILL.md': '---\nname: hello\ndescription: Greets the user warmly when they say hello\n---\n\nSay hello back, warmly, and ask what they are working on.\n',
    'commands/greet.md': '---\ndescription: Greet someone by name\nargument-hint: NAME\n---\n\nSay hello to $ARGUMENTS.\n',
    'agents/reviewer.md': '---\nname: reviewer\ndescription: Reviews a change and lists what to look at\n---\n\nYou review changes carefully.\n',
  };
  if (options.withHooks) {
    files['hooks/hooks.json'] = `${JSON.stringify({ hooks: { PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: '"${CLAUDE_PLUGIN_ROOT}"/hooks/check.sh' }] }] } }, null, 2)}\n`;
    files['hooks/check.sh'] = '#!/bin/sh\nexit 0\n';
  }
  if (options.withMcp) files['.mcp.json'] = `${JSON.stringify({ mcpServers: { 'acme-search': { type: 'http', url: 'https://mcp.acme.example/search' } } }, null, 2)}\n`;
  return { ...files, ...options.files };
}

export function asUpload(files: Record<string, string>): { name: string; data: Buffer }[] {
  return Object.entries(files).map(([name, text]) => ({ name, data: Buffer.from(text) }));
}
