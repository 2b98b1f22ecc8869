/**
 * RFC 4180 CSV, one line at a time so exports can stream: fields with a comma, quote or line
 * break are quoted (quotes doubled); lines end in CRLF. A field that a spreadsheet would run as a
 * formula (=, +, -, @, tab, CR first) is prefixed with `'` (OWASP "CSV injection"), since
 * exported audit data holds text users typed.
 */
export type CsvValue = string | number | bigint | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
