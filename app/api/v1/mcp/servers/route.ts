// GET: every registered MCP server. POST: register one (mcp.admin; see lib/mcp/registry/http.ts).
import { createRoute, listRoute } from '@/lib/mcp/registry/http';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export const GET = listRoute;
export const POST = createRoute;
