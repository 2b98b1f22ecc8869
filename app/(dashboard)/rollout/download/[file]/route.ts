import { dashboardActor } from '@/lib/admin/run-action';
import { getDashboardUser } from '@/lib/auth/session';
import { downloadArtifact, downloadClientProgram, downloadExtensionCa, CLIENT_PROGRAMS, EXTENSION_CA_FILES, type ClientProgram, type ExtensionCaFile } from '@/lib/mdm/admin';
import { ARTIFACT_KINDS, type ArtifactKind } from '@/lib/mdm/artifacts';
import { installFile, INSTALL_FILES, type InstallFile } from '@/lib/mdm/install-files';
import { ForbiddenError } from '@/lib/rbac/errors';
import { UserInputError } from '@/lib/users/tenant';

export const dynamic = 'force-dynamic';

/**
 * GET /rollout/download/<file>: a rollout file generated now, for a signed-in policy administrator.
 * `?extensionCa=1` on the macOS profile adds the organisation's desktop-extension CA as a trusted root.
 */
export async function GET(request: Request, { params }: { params: Promise<{ file: string }> }): Promise<Response> {
  const user = await getDashboardUser();
  if (!user) return new Response('Sign in first.\n', { status: 401, headers: { 'content-type': 'text/plain' } });
  const { file } = await params;
  const actor = dashboardActor(user);
  try {
    const artifact = ARTIFACT_KINDS.includes(file as ArtifactKind)
      ? await downloadArtifact(actor, file as ArtifactKind, { organisationExtensionCa: new URL(request.url).searchParams.get('extensionCa') === '1' })
      : EXTENSION_CA_FILES.includes(file as ExtensionCaFile)
        ? await downloadExtensionCa(actor, file as ExtensionCaFile)
        : CLIENT_PROGRAMS.includes(file as ClientProgram)
          ? await downloadClientProgram(actor, file as ClientProgram)
          : INSTALL_FILES.includes(file as InstallFile)
            ? await installFile(actor, file as InstallFile)
            : null;
    if (!artifact) return new Response('No such rollout file.\n', { status: 404, headers: { 'content-type': 'text/plain' } });
    return new Response(new Uint8Array(artifact.body), {
      headers: {
        'content-type': artifact.contentType,
        'content-disposition': `attachment; filename="${artifact.filename}"`,
        'cache-control': 'private, no-store',
      },
    });
  } catch (error) {
    if (error instanceof ForbiddenError) return new Response(`You need ${error.permission} to download rollout files.\n`, { status: 403, headers: { 'content-type': 'text/plain' } });
    if (error instanceof UserInputError) return new Response(`${error.message}\n`, { status: 409, headers: { 'content-type': 'text/plain' } });
    throw error;
  }
}
