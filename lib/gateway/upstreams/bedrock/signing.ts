/**
 * Bedrock's credential: a Bedrock API key (`api_key_env`, sent as a bearer token) or, by default,
 * a SigV4 signature (service `bedrock`) made with the standard AWS credential chain: environment
 * (AWS_ACCESS_KEY_ID…), shared profile (AWS_PROFILE, ~/.aws), web identity (IRSA on EKS:
 * AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), SSO, ECS and EC2 instance roles. The chain caches
 * and refreshes what it finds, so one per process.
 */
import type { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { UpstreamTarget } from '@/lib/gateway/contracts';
import { CredentialError, lazyCredentialSdk, type PreparedRequest } from '../adapter';
import { upstreamApiKey } from '../headers';

type CredentialChain = ReturnType<typeof defaultProvider>;

interface AwsSigning {
  credentials: CredentialChain;
  SignatureV4: typeof import('@smithy/signature-v4').SignatureV4;
  Sha256: typeof import('@aws-crypto/sha256-js').Sha256;
}

/** The AWS SDK's chain and signer load with the first signed call, not with every web process. */
const awsSigning = lazyCredentialSdk(
  'the AWS SDK (@aws-sdk/credential-provider-node, @smithy/signature-v4)',
  () => Promise.all([import('@aws-sdk/credential-provider-node'), import('@smithy/signature-v4'), import('@aws-crypto/sha256-js')]),
  ([aws, { SignatureV4 }, { Sha256 }]): AwsSigning => ({ credentials: aws.defaultProvider(), SignatureV4, Sha256 }),
);

/** Drops the cached AWS credentials (tests change the environment between cases). */
export function resetAwsCredentials(): void {
  awsSigning.reset();
}

/** Adds the credential to a prepared Bedrock request: bearer key, else a SigV4 signature over it. */
export async function authorizeBedrock(prepared: PreparedRequest, target: UpstreamTarget): Promise<PreparedRequest> {
  if (target.apiKeyEnv !== undefined) {
    const key = upstreamApiKey(target);
    if (key === undefined) throw new CredentialError(`the Bedrock API key variable ${target.apiKeyEnv} is unset`);
    prepared.headers.set('authorization', `Bearer ${key}`);
    return prepared;
  }
  const { credentials: chain, SignatureV4, Sha256 } = await awsSigning();
  let credentials;
  try {
    credentials = await chain();
  } catch (error) {
    throw new CredentialError('no AWS credentials found in the standard chain (environment, profile, web identity, instance role)', { cause: error });
  }
  const url = new URL(prepared.url);
  const headers: Record<string, string> = {};
  prepared.headers.forEach((value, name) => (headers[name] = value));
  // fetch sends Host from the URL (with the port when it is not the default one): sign that.
  headers.host = url.host;
  const signer = new SignatureV4({ service: 'bedrock', region: target.region ?? 'us-east-1', credentials, sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers,
    body: prepared.body,
  });
  const out = new Headers();
  for (const [name, value] of Object.entries(signed.headers)) if (name.toLowerCase() !== 'host') out.set(name, value);
  return { ...prepared, headers: out };
}
