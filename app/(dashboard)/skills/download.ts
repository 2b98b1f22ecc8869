import { NextResponse } from 'next/server';
import { getDashboardUser } from '@/lib/auth/session';
import { ForbiddenError } from '@/lib/rbac/errors';
import { dashboardSkillActor, type SkillActor } from '@/lib/skills';
import { UserInputError } from '@/lib/users/tenant';

/**
 * The body of the skills download routes: the signed-in user as actor, a zip as an attachment,
 * refusals as short plain-text answers (the service has audited them).
 */
export async function zipDownload(make: (actor: SkillActor) => Promise<{ fileName: string; zip: Buffer }>): Promise<Response> {
  const user = await getDashboardUser();
  if (!user) return new NextResponse('Sign in to download skills.\n', { status: 401, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  try {
    const { fileName, zip } = await make(dashboardSkillActor(user));
    return new NextResponse(new Uint8Array(zip), {
      headers: {
        'content-type': 'application/zip',
        'content-disposition': `attachment; filename="${fileName.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
        'cache-control': 'no-store',
      },
    });
  } catch (error) {
    if (error instanceof ForbiddenError) return new NextResponse(`Not allowed: ${error.message}.\n`, { status: 403, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    if (error instanceof UserInputError) return new NextResponse(`${error.message}\n`, { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    throw error;
  }
}
