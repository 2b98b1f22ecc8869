// Served by the Node server's data plane in production (lib/http/data-plane.ts); this route file
// lets `next dev` answer it too, through the same gateway router.
import { handleGatewayRequest } from '@/lib/gateway/routes';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export function GET(request: Request): Promise<Response> {
  return handleGatewayRequest(request);
}
