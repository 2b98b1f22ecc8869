// The gateway under `next dev` / plain `next start`. In production the Node server answers
// /v1/* itself (lib/http/data-plane.ts) before Next sees it; both run the same router.
import { handleGatewayRequest } from '@/lib/gateway/routes';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export function GET(request: Request): Promise<Response> {
  return handleGatewayRequest(request);
}

export function HEAD(request: Request): Promise<Response> {
  return handleGatewayRequest(request);
}

export function POST(request: Request): Promise<Response> {
  return handleGatewayRequest(request);
}

export function PUT(request: Request): Promise<Response> {
  return handleGatewayRequest(request);
}

export function DELETE(request: Request): Promise<Response> {
  return handleGatewayRequest(request);
}

export function PATCH(request: Request): Promise<Response> {
  return handleGatewayRequest(request);
}
