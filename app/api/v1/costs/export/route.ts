// GET /api/v1/costs/export?format=csv&from=&to=&group_by=&interval=&user=&department=&model=&upstream=&route=
// The Costs page's view as CSV, streamed from the daily rollups.
import { costCsvFilename, costCsvStream } from '@/lib/costs/export';
import { CostQueryError, costQueryParams, parseCostQuery, type CostQuery } from '@/lib/costs/query';
import { DashboardApiError, dashboardApiRoute } from '@/lib/http/dashboard-api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export const GET = dashboardApiRoute<CostQuery>({
  action: 'costs.export',
  permission: 'costs.read',
  perMinute: 30,
  parse(request) {
    const params = new URL(request.url).searchParams;
    if (params.get('format') !== 'csv') throw new DashboardApiError('invalid_request', 'format: only format=csv is offered');
    try {
      return parseCostQuery(params);
    } catch (error) {
      if (error instanceof CostQueryError) throw new DashboardApiError('invalid_request', error.message);
      throw error;
    }
  },
  async handle({ user, input }) {
    return new Response(costCsvStream(user.tenantId, input), {
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${costCsvFilename(input)}"`,
        'cache-control': 'no-store',
      },
    });
  },
  describe: (input) => ({ view: costQueryParams(input).toString() }),
});
