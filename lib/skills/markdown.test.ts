import { describe, expect, it } from 'vitest';
import { renderSkillMarkdown } from './markdown';

describe('skill Markdown preview', () => {
  it('renders Markdown but never raw HTML or script links', () => {
    expect(renderSkillMarkdown('# Title\n\n- one\n')).toBe('<h1>Title</h1>\n<ul>\n<li>one</li>\n</ul>\n');
    const hostile = renderSkillMarkdown('<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1))\n');
    expect(hostile).not.toMatch(/<script|<img|href="javascript:/i);
    expect(hostile).toContain('&lt;script&gt;');
  });
});
