import MarkdownIt from 'markdown-it';

/**
 * Markdown to HTML for previews of skill bodies (dashboard editor and read-only views). Raw HTML
 * in the source is escaped, not passed through (`html: false`), and markdown-it refuses
 * javascript:, vbscript:, file: and non-image data: links, so a shared skill cannot run script
 * in a colleague's dashboard. Plain module: the editor renders with it in the browser.
 */
const renderer = new MarkdownIt({ html: false, linkify: true, typographer: false });

export function renderSkillMarkdown(markdown: string): string {
  return renderer.render(markdown);
}
