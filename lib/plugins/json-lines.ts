/**
 * Line numbers for JSON problems: where a syntax error is, and (heuristically, by following the
 * keys of a path from the top) which line a schema problem at a path is on.
 */
function lineAt(text: string, position: number): number {
  let line = 1;
  for (let index = 0; index < position && index < text.length; index++) if (text.charCodeAt(index) === 10) line++;
  return line;
}

export function parseJsonWithLine(text: string): { ok: true; value: unknown } | { ok: false; line?: number; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const message = (error as Error).message;
    const lineMatch = /line (\d+)/.exec(message);
    const positionMatch = /position (\d+)/.exec(message);
    const line = lineMatch ? Number(lineMatch[1]) : positionMatch ? lineAt(text, Number(positionMatch[1])) : undefined;
    return { ok: false, ...(line ? { line } : {}), message: `not valid JSON: ${message.replace(/^JSON\.parse: /, '')}` };
  }
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The line of the value at `path` (object keys followed in order), or of the nearest key found. */
export function lineOfPath(text: string, path: readonly PropertyKey[]): number | undefined {
  let position = -1;
  for (const segment of path) {
    if (typeof segment !== 'string') continue;
    const pattern = new RegExp(`"${escapeRegExp(JSON.stringify(segment).slice(1, -1))}"\\s*:`, 'g');
    pattern.lastIndex = Math.max(0, position);
    const match = pattern.exec(text);
    if (!match) break;
    position = match.index;
  }
  return position >= 0 ? lineAt(text, position) : undefined;
}
