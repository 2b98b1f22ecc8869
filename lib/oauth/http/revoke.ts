import { authenticateClient, readClientCredentials } from '../client-auth';
import { NO_STORE, OAuthError } from '../errors';
import { revokeToken } from '../sessions';
import { readForm, single } from './body';
import { withCors } from './cors';
import { answerOAuth } from './handle';

/**
 * POST /oauth/revoke (RFC 7009). Public clients need no authentication; the answer is 200 for
 * unknown or already-revoked tokens too, so the endpoint cannot be used to test tokens.
 */
export async function handleRevoke(request: Request): Promise<Response> {
  return withCors(
    await answerOAuth(async () => {
      const form = await readForm(request);
      const token = single(form, 'token');
      if (!token) throw new OAuthError('invalid_request', 'token is required');
      const client = await authenticateClient(readClientCredentials(request, form), request);
      if (token.length <= 8192) await revokeToken(token, client, request);
      return new Response(null, { status: 200, headers: NO_STORE });
    }),
  );
}
