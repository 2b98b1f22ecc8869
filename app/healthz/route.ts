import { handleHealthz } from '@/lib/http/health';

// Under `next dev`/`next start`; the Gatehouse server answers /healthz before Next sees it.
export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  return handleHealthz(request);
}
