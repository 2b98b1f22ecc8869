// `npx tsx scripts/confusables-table.ts`: writes lib/gateway/policy/unicode/confusables.json from
// the vendored lib/gateway/policy/unicode/confusables.txt (Unicode's UTS #39 confusables data;
// nothing is fetched). To move to a new Unicode version, replace confusables.txt with the file
// from https://www.unicode.org/Public/security/<version>/confusables.txt, run this script, and
// review both diffs; the policy tests fail while the two files disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfusables } from '@/lib/gateway/policy/unicode/parse';

const DIRECTORY = path.join(path.dirname(fileURLToPath(import.meta.url)), '../lib/gateway/policy/unicode');

const table = parseConfusables(readFileSync(path.join(DIRECTORY, 'confusables.txt'), 'utf8'));
// One mapping per line, so a new Unicode version reviews as a readable diff.
const { prototypes, ...header } = table;
const lines = prototypes.map((pair) => `    ${JSON.stringify(pair)}`);
const json = `${JSON.stringify(header, null, 2).slice(0, -2)},\n  "prototypes": [\n${lines.join(',\n')}\n  ]\n}\n`;
JSON.parse(json);
writeFileSync(path.join(DIRECTORY, 'confusables.json'), json);
console.log(`confusables.json: Unicode ${table.version}, ${prototypes.length} mappings`);
