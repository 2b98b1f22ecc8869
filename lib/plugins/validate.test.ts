import { describe, expect, it } from 'vitest';
import { PluginUploadError, UPLOAD_LIMITS, type PluginIssue } from './limits';
import { asUpload, samplePluginFiles } from './testing/sample';
import { pluginFromFiles, pluginFromZip } from './upload';
import { UNIX_MODES, writeZip, type ZipInput } from './zip';

function zipOf(files: Record<string, string>, extra: ZipInput[] = [], prefix = ''): Buffer {
  return writeZip([...Object.entries(files).map(([name, text]) => ({ name: `${prefix}${name}`, data: Buffer.from(text) })), ...extra]);
}

function issuesOf(run: () => unknown): PluginIssue[] {
  try {
    run();
  } catch (error) {
    if (error instanceof PluginUploadError) return error.issues;
    throw error;
  }
  throw new Error('expected the upload to be refused');
}

const good = samplePluginFiles({ withHooks: true, withMcp: true });

describe('plugin upload validation', () => {
  it('accepts a complete plugin, zipped flat or as a folder, and says what it brings', () => {
    for (const zip of [zipOf(good), zipOf(good, [], 'acme-tools/')]) {
      const plugin = pluginFromZip(zip);
      expect(plugin.manifest).toMatchObject({ name: 'acme-tools', version: '1.0.0' });
      expect(plugin.files.map((file) => file.path)).toContain('.claude-plugin/plugin.json');
      expect(plugin.components.skills).toEqual([{ name: 'hello', description: 'Greets the user warmly when they say hello', path: 'skills/hello/SKILL.md' }]);
      expect(plugin.components.commands[0]).toMatchObject({ name: 'greet', description: 'Greet someone by name' });
      expect(plugin.components.agents[0]).toMatchObject({ name: 'reviewer' });
      expect(plugin.components.hooks).toEqual([{ event: 'PreToolUse', matcher: 'Bash', type: 'command', run: '"${CLAUDE_PLUGIN_ROOT}"/hooks/check.sh' }]);
      expect(plugin.components.mcpServers).toEqual([{ name: 'acme-search', transport: 'http', target: 'https://mcp.acme.example/search' }]);
      expect(plugin.readme).toContain('Shared tools');
    }
  });

  const bomb = Buffer.alloc(UPLOAD_LIMITS.maxTotalBytes + 1024 * 1024);
  const table: { name: string; upload: () => unknown; file: string; line?: number; message: RegExp }[] = [
    {
      name: 'malformed plugin.json (syntax)',
      upload: () => pluginFromZip(zipOf({ ...good, '.claude-plugin/plugin.json': '{\n  "name": "acme-tools",\n  "version": "1.0.0"\n  "description": "x"\n}\n' })),
      file: '.claude-plugin/plugin.json',
      line: 4,
      message: /not valid JSON/,
    },
    {
      name: 'plugin.json with a bad name and version',
      upload: () => pluginFromFiles(asUpload({ ...good, '.claude-plugin/plugin.json': '{\n  "name": "Acme Tools",\n  "version": "one",\n  "description": "x"\n}\n' })),
      file: '.claude-plugin/plugin.json',
      line: 2,
      message: /name: must be lowercase/,
    },
    { name: 'missing plugin.json', upload: () => pluginFromFiles(asUpload({ 'skills/hello/SKILL.md': good['skills/hello/SKILL.md']! })), file: '.claude-plugin/plugin.json', message: /missing/ },
    { name: 'SKILL.md without front matter', upload: () => pluginFromFiles(asUpload({ ...good, 'skills/hello/SKILL.md': 'just text\n' })), file: 'skills/hello/SKILL.md', line: 1, message: /front matter/ },
    {
      name: 'SKILL.md with a description missing',
      upload: () => pluginFromFiles(asUpload({ ...good, 'skills/hello/SKILL.md': '---\nname: hello\ndescription: ""\n---\nbody\n' })),
      file: 'skills/hello/SKILL.md',
      line: 3,
      message: /description: must not be empty/,
    },
    { name: 'hooks.json command hook without a command', upload: () => pluginFromFiles(asUpload({ ...good, 'hooks/hooks.json': '{"hooks":{"PreToolUse":[{"hooks":[{"type":"command"}]}]}}' })), file: 'hooks/hooks.json', message: /needs "command"/ },
    { name: '.mcp.json server with neither url nor command', upload: () => pluginFromFiles(asUpload({ ...good, '.mcp.json': '{\n "mcpServers": {\n  "x": {"type": "http"}\n }\n}' })), file: '.mcp.json', line: 3, message: /either "url"/ },
    { name: '../ entry', upload: () => pluginFromZip(zipOf(good, [{ name: '../evil.sh', data: Buffer.from('x') }])), file: '../evil.sh', message: /leaves the plugin folder/ },
    { name: 'nested ../ entry', upload: () => pluginFromZip(zipOf(good, [{ name: 'skills/../../evil.sh', data: Buffer.from('x') }])), file: 'skills/../../evil.sh', message: /leaves the plugin folder/ },
    { name: 'absolute path', upload: () => pluginFromZip(zipOf(good, [{ name: '/etc/cron.d/evil', data: Buffer.from('x') }])), file: '/etc/cron.d/evil', message: /absolute/ },
    { name: 'Windows path', upload: () => pluginFromZip(zipOf(good, [{ name: 'C:\\evil.bat', data: Buffer.from('x') }])), file: 'C:\\evil.bat', message: /backslash|absolute/ },
    { name: 'symlink', upload: () => pluginFromZip(zipOf(good, [{ name: 'skills/hello/link', data: Buffer.from('/etc/passwd'), unixMode: UNIX_MODES.symlink }])), file: 'skills/hello/link', message: /symbolic link/ },
    { name: 'device file', upload: () => pluginFromZip(zipOf(good, [{ name: 'dev', data: Buffer.alloc(0), unixMode: UNIX_MODES.characterDevice }])), file: 'dev', message: /device/ },
    { name: 'oversize file', upload: () => pluginFromZip(zipOf(good, [{ name: 'big.bin', data: Buffer.alloc(UPLOAD_LIMITS.maxFileBytes + 1) }])), file: 'big.bin', message: /per file/ },
    { name: 'zip bomb (honest sizes)', upload: () => pluginFromZip(zipOf(good, [{ name: 'a.bin', data: bomb.subarray(0, UPLOAD_LIMITS.maxFileBytes) }, ...Array.from({ length: 10 }, (_, i) => ({ name: `b${i}.bin`, data: bomb.subarray(0, UPLOAD_LIMITS.maxFileBytes) }))])), file: 'b8.bin', message: /limit when unpacked/ },
    { name: 'zip bomb (lying sizes)', upload: () => pluginFromZip(zipOf(good, [{ name: 'bomb.bin', data: bomb, declaredSize: 1000 }])), file: 'bomb.bin', message: /zip bomb/ },
    { name: 'too many files', upload: () => pluginFromFiles(asUpload({ ...good, ...Object.fromEntries(Array.from({ length: UPLOAD_LIMITS.maxFiles }, (_, i) => [`docs/${i}.md`, 'x'])) })), file: '(upload)', message: /file limit/ },
    { name: 'case-insensitive duplicate', upload: () => pluginFromFiles(asUpload({ ...good, 'readme.md': 'again' })), file: 'readme.md', message: /appears twice/ },
    { name: 'a file that is also a folder', upload: () => pluginFromFiles(asUpload({ ...good, docs: 'x', 'docs/a.md': 'y' })), file: 'docs/a.md', message: /also a file/ },
    { name: 'not a zip', upload: () => pluginFromZip(Buffer.from('hello world, this is not an archive')), file: '(archive)', message: /not a ZIP/ },
    { name: 'a plugin bringing nothing', upload: () => pluginFromFiles(asUpload({ '.claude-plugin/plugin.json': good['.claude-plugin/plugin.json']!, 'README.md': 'x' })), file: '(plugin)', message: /brings nothing/ },
  ];

  it.each(table)('refuses $name, naming the file and line', ({ upload, file, line, message }) => {
    const issues = issuesOf(upload);
    const issue = issues.find((candidate) => candidate.file === file && message.test(candidate.message));
    expect(issue, JSON.stringify(issues)).toBeDefined();
    if (line !== undefined) expect(issue!.line).toBe(line);
  });
});
