import NextAuth from 'next-auth';
import type { NextRequest } from 'next/server';
import { authOptionsForRequest } from '@/lib/auth/options';

// Options per request: the SSO providers follow gatehouse.yaml without a restart.
async function handler(request: NextRequest, context: { params: Promise<{ nextauth: string[] }> }): Promise<Response> {
  return NextAuth(request, context, authOptionsForRequest(request));
}

export { handler as GET, handler as POST };
