import { isRecord } from '@/lib/platform/json';
import { registerDynamicClient } from '../clients';
import { clientIp } from '@/lib/http/client-ip';
import { NO_STORE, OAuthError } from '../errors';
import { readJson } from './body';
import { withCors } from './cors';
import { answerOAuth } from './handle';

/** POST /oauth/register: RFC 7591 dynamic client registration. */
export async function handleRegister(request: Request): Promise<Response> {
  return withCors(
    await answerOAuth(async () => {
      const body = await readJson(request, () => new OAuthError('invalid_client_metadata', 'the body must be a JSON object of client metadata'));
      if (!isRecord(body)) throw new OAuthError('invalid_client_metadata', 'the body must be a JSON object of client metadata');
      const registered = await registerDynamicClient(body, { ip: clientIp(request), request });
      return Response.json(registered, { status: 201, headers: NO_STORE });
    }),
  );
}
