import type { NextRequest } from 'next/server';
import { exportOwnSkills } from '@/lib/skills';
import { zipDownload } from '../download';

/** GET /skills/export[?name=NAME]: the user's skills (or one) as a zip of name/SKILL.md folders. */
export async function GET(request: NextRequest): Promise<Response> {
  const name = request.nextUrl.searchParams.get('name');
  return zipDownload(async (actor) => {
    const { zip } = await exportOwnSkills(actor, name ? [name] : undefined);
    return { fileName: name ? `${name}.zip` : 'skills.zip', zip };
  });
}
