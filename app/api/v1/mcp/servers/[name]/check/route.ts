// POST: Runs the health check now (initialize + tools/list); drift is held as a pending version.
import { actionRoute } from '@/lib/mcp/registry/http';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export const POST = actionRoute('check');
