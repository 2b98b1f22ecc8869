import { authenticateClient, readClientCredentials } from '../client-auth';
import { clientAllowsGrant } from '../clients';
import { clientIp, userAgent } from '@/lib/http/client-ip';
import { oauthSettings } from '../config';
import { cleanSurface, createDeviceAuthorization, formatUserCode } from '../device';
import { NO_STORE, OAuthError } from '../errors';
import { DEVICE_CODE_GRANT } from '../grants';
import { configuredIssuer, endpointsFor } from '../issuer';
import { hitRateLimit } from '../rate-limit';
import { resolveAudience } from '../resource';
import { formatScope, parseScope } from '../scopes';
import { readForm, single } from './body';
import { withCors } from './cors';
import { answerOAuth } from './handle';

/**
 * POST /oauth/device_authorization (RFC 8628 §3.1), exactly as Claude Code calls it: a form
 * with no client_id and an optional `surface`. A registered client may name itself too.
 */
export async function handleDeviceAuthorization(request: Request): Promise<Response> {
  return withCors(
    await answerOAuth(async () => {
      const form = await readForm(request);
      const ip = clientIp(request);
      const limit = await hitRateLimit('device_authorization', ip ?? 'unknown', oauthSettings().deviceAuthorizationsPerIpPerMinute, 60);
      if (!limit.allowed) throw new OAuthError('slow_down', 'too many sign-in requests from this address; wait a minute', { status: 429, headers: { 'retry-after': String(limit.retryAfterSeconds) } });
      const client = await authenticateClient(readClientCredentials(request, form), request);
      if (client && !clientAllowsGrant(client, DEVICE_CODE_GRANT)) throw new OAuthError('unauthorized_client', 'this client may not use the device grant');
      const issuer = configuredIssuer();
      const codes = await createDeviceAuthorization({
        client,
        surface: cleanSurface(form.get('surface')),
        scope: formatScope(parseScope(single(form, 'scope'))),
        audience: resolveAudience(form.getAll('resource'), issuer),
        ip,
        userAgent: userAgent(request),
      });
      const verificationUri = endpointsFor(issuer).verification;
      const userCode = formatUserCode(codes.userCode);
      return Response.json(
        {
          device_code: codes.deviceCode,
          user_code: userCode,
          verification_uri: verificationUri,
          verification_uri_complete: `${verificationUri}?user_code=${encodeURIComponent(userCode)}`,
          expires_in: codes.expiresIn,
          interval: codes.interval,
        },
        { headers: NO_STORE },
      );
    }),
  );
}
