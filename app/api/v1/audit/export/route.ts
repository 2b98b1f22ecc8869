// GET /api/v1/audit/export?format=csv|ndjson&from=&to=&user=&department=&model=&upstream=&type=&outcome=&rule=&trace=&q=
// The explorer's rows as CSV (or the full events as NDJSON), oldest first, streamed.
import { AuditFilterError, FILTER_PARAMS, MAX_EXPORT_RANGE_DAYS, filterParams, parseAuditFilters, type AuditFilters, type RawFilters } from '@/lib/audit-query';
import { EXPORT_FORMATS, exportFilename, exportStream, type ExportFormat } from '@/lib/audit-query/export';
import { DashboardApiError, dashboardApiRoute } from '@/lib/http/dashboard-api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

interface ExportInput {
  format: ExportFormat;
  filters: AuditFilters;
}

export const GET = dashboardApiRoute<ExportInput>({
  action: 'audit.export',
  permission: 'audit.read',
  perMinute: 30,
  parse(request) {
    const params = new URL(request.url).searchParams;
    const format = params.get('format') ?? 'csv';
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new DashboardApiError('invalid_request', 'format must be csv or ndjson');
    const raw: RawFilters = {};
    for (const name of FILTER_PARAMS) raw[name] = params.get(name) ?? undefined;
    try {
      return { format: format as ExportFormat, filters: parseAuditFilters(raw, { maxRangeDays: MAX_EXPORT_RANGE_DAYS }) };
    } catch (error) {
      if (error instanceof AuditFilterError) throw new DashboardApiError('invalid_request', error.message);
      throw error;
    }
  },
  async handle({ user, input }) {
    return new Response(exportStream(user.tenantId, input.filters, input.format), {
      headers: {
        'content-type': input.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
        'content-disposition': `attachment; filename="${exportFilename(input.filters, input.format)}"`,
        'cache-control': 'no-store',
      },
    });
  },
  describe: (input) => ({ format: input.format, view: filterParams(input.filters).toString() }),
});
