import type { NextRequest } from 'next/server';
import { departmentSkillsPlugin, ownSkillsPlugin } from '@/lib/skills';
import { getDashboardUser } from '@/lib/auth/session';
import { zipDownload } from '../download';

/** GET /skills/plugin[?department=SLUG]: the user's or a department's skills as a Claude plugin folder, zipped. */
export async function GET(request: NextRequest): Promise<Response> {
  const department = request.nextUrl.searchParams.get('department');
  const user = await getDashboardUser();
  return zipDownload((actor) => (department ? departmentSkillsPlugin(actor, department) : ownSkillsPlugin(actor, user?.name ?? actor.email)));
}
