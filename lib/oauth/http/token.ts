import type { OAuthClient } from '@/lib/generated/prisma/client';
import { authenticateClient, readClientCredentials } from '../client-auth';
import { clientAllowsGrant } from '../clients';
import { redeemAuthorizationCode } from '../codes';
import { pollDeviceAuthorization } from '../device';
import { NO_STORE, OAuthError } from '../errors';
import { AUTHORIZATION_CODE_GRANT, DEVICE_CODE_GRANT, isSupportedGrantType, REFRESH_TOKEN_GRANT, type GrantType } from '../grants';
import { issuerFor } from '../issuer';
import { refreshSignIn, type TokenResponseBody } from '../sessions';
import { readForm, single } from './body';
import { withCors } from './cors';
import { answerOAuth } from './handle';

function required(form: URLSearchParams, name: string): string {
  const value = single(form, name);
  if (!value) throw new OAuthError('invalid_request', `${name} is required`);
  return value;
}

function checkGrantAllowed(client: OAuthClient | null, grant: GrantType): void {
  if (client && !clientAllowsGrant(client, grant)) throw new OAuthError('unauthorized_client', `this client may not use the ${grant} grant`);
}

async function grant(request: Request, form: URLSearchParams): Promise<TokenResponseBody> {
  const grantType = required(form, 'grant_type');
  if (!isSupportedGrantType(grantType)) throw new OAuthError('unsupported_grant_type', `grant_type ${grantType.slice(0, 100)} is not supported`);
  const client = await authenticateClient(readClientCredentials(request, form));
  checkGrantAllowed(client, grantType);
  const issuer = issuerFor(request);

  switch (grantType) {
    case AUTHORIZATION_CODE_GRANT: {
      if (!client) throw new OAuthError('invalid_request', 'client_id is required');
      return redeemAuthorizationCode({
        issuer,
        code: required(form, 'code'),
        client,
        redirectUri: single(form, 'redirect_uri'),
        codeVerifier: single(form, 'code_verifier'),
        resources: form.getAll('resource'),
        request,
      });
    }
    case REFRESH_TOKEN_GRANT:
      return refreshSignIn({ issuer, refreshToken: required(form, 'refresh_token'), client, scope: single(form, 'scope'), resources: form.getAll('resource'), request });
    case DEVICE_CODE_GRANT:
      return pollDeviceAuthorization({ issuer, deviceCode: required(form, 'device_code'), client, request });
  }
}

/** POST /oauth/token: authorization_code, refresh_token and the RFC 8628 device_code grant. */
export async function handleToken(request: Request): Promise<Response> {
  return withCors(
    await answerOAuth(async () => {
      const body = await grant(request, await readForm(request));
      return Response.json(body, { headers: NO_STORE });
    }),
  );
}
