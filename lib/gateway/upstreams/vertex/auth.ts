/**
 * Vertex AI's credential: an OAuth2 access token (scope cloud-platform) from google-auth-library's
 * Application Default Credentials — GOOGLE_APPLICATION_CREDENTIALS (a service-account key, or a
 * workload identity federation config), `gcloud auth application-default login`, or the metadata
 * server (GKE Workload Identity, Cloud Run, GCE). The library caches and refreshes the token.
 */
import type { GoogleAuth } from 'google-auth-library';
import { CredentialError, credentialSetUpError, lazyCredentialSdk } from '../adapter';

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

// google-auth-library (with gaxios, jws and the rest, ~60 modules) loads with the first Vertex call,
// not with every web process.
const googleAuthLibrary = lazyCredentialSdk('google-auth-library', () => import('google-auth-library'), (library) => library);

/** One per project: told the project, the library never goes looking for one (a network call). */
const clients = new Map<string, GoogleAuth>();

export async function googleAccessToken(project: string): Promise<string> {
  let auth = clients.get(project);
  if (!auth) {
    const { GoogleAuth: Auth } = await googleAuthLibrary();
    try {
      auth = clients.get(project) ?? new Auth({ scopes: [CLOUD_PLATFORM], projectId: project });
    } catch (error) {
      throw credentialSetUpError('google-auth-library', error);
    }
    clients.set(project, auth);
  }
  let token: string | null | undefined;
  try {
    token = await auth.getAccessToken();
  } catch (error) {
    throw new CredentialError('no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS, or run where Application Default Credentials exist', { cause: error });
  }
  if (!token) throw new CredentialError('Google Application Default Credentials gave no access token');
  return token;
}

/** Forgets the credentials found (tests change GOOGLE_APPLICATION_CREDENTIALS between cases). */
export function resetGoogleAuth(): void {
  clients.clear();
}
