import { SIGNING_ALGORITHM } from '@/lib/tokens/config';
import { SUPPORTED_GRANT_TYPES } from './grants';
import { endpointsFor } from './issuer';
import { SUPPORTED_SCOPES } from './scopes';

const AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'];

/** RFC 8414 authorization server metadata. */
export function authorizationServerMetadata(issuer: string): Record<string, unknown> {
  const endpoints = endpointsFor(issuer);
  return {
    issuer,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    device_authorization_endpoint: endpoints.deviceAuthorization,
    revocation_endpoint: endpoints.revocation,
    registration_endpoint: endpoints.registration,
    userinfo_endpoint: endpoints.userinfo,
    jwks_uri: endpoints.jwks,
    scopes_supported: [...SUPPORTED_SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...SUPPORTED_GRANT_TYPES],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: AUTH_METHODS,
    authorization_response_iss_parameter_supported: true,
    // An https URL as client_id names the client's metadata document (client-metadata-document.ts).
    client_id_metadata_document_supported: true,
  };
}

/** OpenID Connect Discovery 1.0: the same document plus the OIDC fields. */
export function openIdConfiguration(issuer: string): Record<string, unknown> {
  return {
    ...authorizationServerMetadata(issuer),
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [SIGNING_ALGORITHM],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'sid', 'email', 'name'],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  };
}
