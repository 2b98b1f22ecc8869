// POST: Revokes the server ({reason?}): it leaves every allowlist.
import { actionRoute } from '@/lib/mcp/registry/http';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export const POST = actionRoute('revoke');
