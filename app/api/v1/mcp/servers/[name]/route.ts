// GET: a server with its tool-list versions. PATCH: {description?, scope?} (mcp.admin).
import { getRoute, patchRoute } from '@/lib/mcp/registry/http';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export const GET = getRoute;
export const PATCH = patchRoute;
