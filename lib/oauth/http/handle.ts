import { OAuthError, oauthErrorResponse } from '../errors';

/** Runs an endpoint; client mistakes (OAuthError) become RFC 6749 error bodies, never a 500. */
export async function answerOAuth(work: () => Promise<Response>): Promise<Response> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof OAuthError) return oauthErrorResponse(error);
    throw error;
  }
}
