// The organisation's signing key and JWS format: one module for everything signed for devices
// (org plugins now, the MCP allowlist next). Import from '@/lib/signing'; devices use jws.ts only.
export { currentKeys, JWS_TYPES, JwsError, type JwsFailure, followRollovers, jwkThumbprint, keyFromJwk, peekHeader, publicJwkOf, signCompact, trustedKeysFrom, verifyCompact, type Ed25519Jwk, type JwsHeader, type KeyRollover } from './jws';
export { activeOrgKid, activeOrgPublicJwk, clearOrgKeyCache, listOrgKeys, orgKeyDocument, RETIRED_KEY_OVERLAP_MS, rotateOrgKey, signAsOrganisation, type OrgKeyDocument, type OrgKeySummary } from './org-keys';
