// Signed desktop extensions (MCP Bundles, .mcpb): validation, the organisation CA and code-signing
// certificate, MCPB-format signing and a verifier. Import from '@/lib/mcpb'.
export { listSigningCertificates, organisationCa, organisationCaPem, renewSigningCertificates, SigningKeyUnavailableError, type CertificateSummary as SigningCertificateSummary } from './authority';
export { McpbError, type McpbIssue } from './errors';
export { appendSignatureBlock, extractSignatureBlock, SIGNATURE_FOOTER, SIGNATURE_HEADER } from './framing';
export { BUNDLE_LIMITS, MANIFEST_FILE, validateBundle, type McpbManifest, type ValidatedBundle } from './manifest';
export { signBundle, signBundleAsOrganisation, verifyBundleAsOrganisation, type SignedBundle } from './sign';
export { VERIFICATION_FAILURES, verifyBundle, type BundleVerification, type VerificationFailure, type VerifyOptions } from './verify';
