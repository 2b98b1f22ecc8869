/**
 * `type: foundry`: Claude in Microsoft Azure AI Foundry, whose `/anthropic` endpoint speaks the
 * Messages API (`base_url: https://{resource}.services.ai.azure.com/anthropic`, then /v1/messages,
 * count_tokens likewise). The body, betas (Foundry takes the header) and answer pass through as
 * for Anthropic; only the credential differs: the key named by `api_key_env` (sent as `api-key`
 * and `x-api-key`), or else a Microsoft Entra ID token (scope https://ai.azure.com/.default) from
 * @azure/identity's DefaultAzureCredential: environment (AZURE_TENANT_ID, AZURE_CLIENT_ID,
 * AZURE_CLIENT_SECRET or a certificate), workload identity on AKS (AZURE_FEDERATED_TOKEN_FILE),
 * managed identity, then a developer's Azure CLI sign-in.
 * (`type: azure` is Azure OpenAI, through the OpenAI-compatible adapter.)
 */
import type { TokenCredential } from '@azure/identity';
import type { DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { CredentialError, lazyCredentialSdk, type PreparedRequest, type UpstreamAdapter } from '../adapter';
import { anthropicAdapter, preparePassthrough } from '../anthropic/adapter';
import { upstreamApiKey } from '../headers';

const FOUNDRY_SCOPE = 'https://ai.azure.com/.default';

// @azure/identity is some 300 modules (MSAL, the Azure core pipeline): it loads with the first Entra
// ID token, not with every web process whether Foundry is configured or not.
const entraCredential = lazyCredentialSdk(
  '@azure/identity',
  () => import('@azure/identity'),
  ({ DefaultAzureCredential }): TokenCredential => new DefaultAzureCredential(),
);

async function entraToken(): Promise<string> {
  const credential = await entraCredential();
  try {
    const token = await credential.getToken(FOUNDRY_SCOPE);
    if (!token) throw new Error('no token');
    return token.token;
  } catch (error) {
    throw new CredentialError('no Microsoft Entra ID credential for Azure AI Foundry (set api_key_env, or AZURE_CLIENT_ID and its secret, workload or managed identity)', { cause: error });
  }
}

async function prepare(path: string, input: DispatchInput, target: UpstreamTarget): Promise<PreparedRequest> {
  const prepared = preparePassthrough(path, input, target);
  if (target.apiKeyEnv !== undefined) {
    const key = upstreamApiKey(target);
    if (key === undefined) throw new CredentialError(`the Foundry API key variable ${target.apiKeyEnv} is unset`);
    prepared.headers.set('api-key', key);
    prepared.headers.set('x-api-key', key);
  } else {
    prepared.headers.set('authorization', `Bearer ${await entraToken()}`);
  }
  return prepared;
}

export const foundryAdapter: UpstreamAdapter = {
  ...anthropicAdapter,
  prepareMessages: (input, target) => prepare('messages', input, target),
  countTokens: { prepare: (input, target) => prepare('messages/count_tokens', input, target), translate: (body) => body },
};
