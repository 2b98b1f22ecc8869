// POST: Rejects a pending tool list ({version?, comment}).
import { actionRoute } from '@/lib/mcp/registry/http';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export const POST = actionRoute('reject');
