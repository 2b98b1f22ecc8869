import { MAX_EXPORT_RANGE_DAYS } from '@/lib/audit-query/filters';

// Apart from audit-query.ts so `gatehouse audit --help` (and every other command) starts without loading the query module.
export const QUERY_HELP = `Usage:
  gatehouse audit query [filters] [--limit N] [--json] [--tenant TENANT_ID]
  gatehouse audit export --format csv|ndjson --since TIME [--until TIME] [filters] [--out FILE] [--tenant TENANT_ID]

Filters (the explorer's, /audit?…, with the same meaning):
  --from / --since TIME   start, inclusive (ISO time, a UTC date, or back from now: 90m, 24h, 7d); default 24h before --to
  --to / --until TIME     end, exclusive (a date takes in that whole UTC day); default now
  --user EMAIL|ID  --department NAME  --model ID  --upstream PROVIDER/MODEL  --type EVENT_TYPE
  --outcome success|failure|denied|unknown  --rule RULE (a trailing * matches a prefix)  --trace TRACE_ID  --q TEXT

query    Prints the newest matching events (--limit, default 100, at most 10000) as a table, or as
         JSON lines with the CSV's column names (--json). A query spans at most 93 days.
export   Streams every matching event, oldest first, as CSV (the explorer's columns) or NDJSON (each
         event's full stored document) to --out FILE or stdout, in batches, so memory stays flat
         however large the range (up to ${MAX_EXPORT_RANGE_DAYS} days). Progress goes to stderr.`;
