import type { OAuthClient } from '@/lib/generated/prisma/client';
import { primaryTenantId } from '@/lib/users/tenant';
import { authenticateClient, readClientCredentials } from '../client-auth';
import { clientAllowsGrant } from '../clients';
import { redeemAuthorizationCode } from '../codes';
import { pollDeviceAuthorization } from '../device';
import { NO_STORE, OAuthError } from '../errors';
import { AUTHORIZATION_CODE_GRANT, DEVICE_CODE_GRANT, isSupportedGrantType, REFRESH_TOKEN_GRANT, type GrantType } from '../grants';
import { countOAuthRefusal } from '../audit';
import { configuredIssuer } from '../issuer';
import { RefreshRefusedError, refreshSignIn, type TokenResponseBody } from '../sessions';
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
  const client = await authenticateClient(readClientCredentials(request, form), request);
  checkGrantAllowed(client, grantType);
  const issuer = configuredIssuer();

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

/**
 * A refused grant (invalid_grant) in the audit trail, counted per user or client address and
 * minute: a client that retries a dead refresh token in a loop must not flood the chain.
 */
async function countRefusedGrant(request: Request, form: URLSearchParams, error: OAuthError): Promise<void> {
  const subject = error instanceof RefreshRefusedError ? error.subject : null;
  const grantType = single(form, 'grant_type') ?? '';
  try {
    countOAuthRefusal(
      {
        tenantId: subject?.tenantId ?? (await primaryTenantId()),
        type: 'auth.sign_in',
        action: grantType === REFRESH_TOKEN_GRANT ? 'token.refresh' : 'token.issue',
        outcome: 'denied',
        actor: subject ? { userId: subject.userId } : undefined,
        request,
      },
      { grant_type: grantType.slice(0, 100), reason: error.description.slice(0, 100) },
    );
  } catch (failure) {
    // The refusal goes out whatever happens here.
    console.error(`oauth: counting a refused grant failed: ${failure instanceof Error ? failure.message : String(failure)}`);
  }
}

/** POST /oauth/token: authorization_code, refresh_token and the RFC 8628 device_code grant. */
export async function handleToken(request: Request): Promise<Response> {
  return withCors(
    await answerOAuth(async () => {
      const form = await readForm(request);
      try {
        return Response.json(await grant(request, form), { headers: NO_STORE });
      } catch (error) {
        if (error instanceof OAuthError && error.code === 'invalid_grant') await countRefusedGrant(request, form, error);
        throw error;
      }
    }),
  );
}
