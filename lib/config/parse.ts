import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError, formatFieldPath, type ConfigIssue } from './errors';
import { configErrorMap } from './messages';
import { gatehouseConfigSchema, type GatehouseConfig } from './schema';

type Path = readonly PropertyKey[];

function yamlPath(path: Path): unknown[] {
  return path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment));
}

function nodeAt(doc: Document, path: Path): Node | null {
  if (path.length === 0) return (doc.contents as Node | null) ?? null;
  const node = doc.getIn(yamlPath(path), true);
  return node && typeof node === 'object' && 'range' in node ? (node as Node) : null;
}

/**
 * The line of the nearest node that exists: a missing field is reported where its parent
 * mapping starts, which is where the person has to add it.
 */
function lineOf(doc: Document, lines: LineCounter, path: Path, unknownKey?: string): number {
  if (unknownKey !== undefined) {
    const parent = nodeAt(doc, path);
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === unknownKey);
      const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
      if (range) return lines.linePos(range[0]).line;
    }
  }
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const range = nodeAt(doc, path.slice(0, depth))?.range;
    if (range) return lines.linePos(range[0]).line;
  }
  return 1;
}

/** yaml appends " at line N, column M:" and a code excerpt; the line is printed separately. */
function syntaxMessage(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Parses and validates the text of gatehouse.yaml. `file` is only used in messages.
 * Throws ConfigError listing every problem with its line and field.
 */
export function parseGatehouseConfig(text: string, file: string): GatehouseConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((error) => ({
        file,
        line: error.linePos?.[0].line ?? null,
        field: '',
        message: `YAML syntax: ${syntaxMessage(error.message)}`,
      })),
    );
  }

  let data: unknown;
  try {
    // An alias bomb must not take the process down; yaml refuses past this many expansions.
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw new ConfigError(file, [{ file, line: null, field: '', message: (error as Error).message }]);
  }

  const result = gatehouseConfigSchema.safeParse(data, { error: configErrorMap });
  if (result.success) return result.data;

  const issues: ConfigIssue[] = result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        file,
        line: lineOf(doc, lines, issue.path, key),
        field: formatFieldPath([...issue.path, key]),
        message: 'unknown field',
      }));
    }
    const message = issue.code === 'invalid_key' ? `invalid name: ${issue.issues[0]?.message ?? issue.message}` : issue.message;
    return [{ file, line: lineOf(doc, lines, issue.path), field: formatFieldPath(issue.path) || '(top level)', message }];
  });
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  throw new ConfigError(file, issues);
}
