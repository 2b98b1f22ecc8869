// POST: Approves a pending tool list ({version?, comment?}; the newest pending one by default).
import { actionRoute } from '@/lib/mcp/registry/http';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export const POST = actionRoute('approve');
