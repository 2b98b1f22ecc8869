/**
 * A fake Vertex AI endpoint ({region}-aiplatform.googleapis.com) on 127.0.0.1:
 *
 *   POST /v1/projects/{p}/locations/{l}/publishers/anthropic/models/{model}:rawPredict
 *   POST …/publishers/anthropic/models/{model}:streamRawPredict    Anthropic JSON / SSE (pings included)
 *   POST …/publishers/anthropic/models/count-tokens:rawPredict      {"input_tokens": N}
 *        body: the Anthropic request with `anthropic_version: vertex-2023-10-16`, without `model`
 *        (count-tokens keeps it) and `tags`, else 400 as Vertex answers.
 *   POST …/publishers/google/models/{model}:generateContent | :streamGenerateContent?alt=sse   (gemini.ts)
 *   POST /v1/token   a Security Token Service: exchanges the workload identity subject token
 *                    for an access token (what google-auth-library's external_account client does)
 *
 * Every model call needs `Authorization: Bearer <a token this STS issued>`; without it, 401
 * UNAUTHENTICATED in Google's envelope. Claude errors come in Anthropic's envelope, Gemini's and
 * the platform's in Google's.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { anthropicMessage, anthropicStreamFrames, estimateInputTokens, resolveReply, type FakeAnthropicReply } from './anthropic';
import { answerGemini, sendGoogleError, type FakeGeminiReply } from './gemini';
import { playJson, playStream, resetConnection, sendJson, startFakeServer, type FakeBehaviour, type FakeErrorBehaviour, type FakeServer, type FakeServerOptions } from './server';

export interface FakeVertexReply {
  claude?: FakeAnthropicReply;
  gemini?: FakeGeminiReply;
}

export type FakeVertexBehaviour = FakeBehaviour<FakeVertexReply>;

export type FakeVertex = FakeServer<FakeVertexReply> & {
  /** A workload identity federation credentials file (external_account) whose token exchange is this fake's STS. */
  credentialsFile: string;
  /** Access tokens the STS issued, in order. */
  issuedTokens: string[];
};

const MODEL_PATH = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/(anthropic|google)\/models\/([^/:]+):(rawPredict|streamRawPredict|generateContent|streamGenerateContent)$/;
const SUBJECT_TOKEN = 'fake-kubernetes-service-account-token';

function claudeProblem(body: unknown, countTokens: boolean): string | null {
  if (typeof body !== 'object' || body === null) return 'Invalid JSON payload';
  const record = body as Record<string, unknown>;
  if (record.anthropic_version !== 'vertex-2023-10-16') return 'anthropic_version: Input should be \'vertex-2023-10-16\'';
  if (!countTokens && 'model' in record) return 'model: Extra inputs are not permitted';
  if ('tags' in record) return 'tags: Extra inputs are not permitted';
  return null;
}

function sendAnthropicError(res: Parameters<typeof sendJson>[0], behaviour: FakeErrorBehaviour): void {
  sendJson(res, behaviour.status, { type: 'error', error: { type: behaviour.errorType, message: behaviour.message } }, behaviour.headers);
}

export async function startFakeVertex(options: FakeServerOptions<FakeVertexReply> = {}): Promise<FakeVertex> {
  const issuedTokens: string[] = [];
  const server = await startFakeServer<FakeVertexReply>(options, { kind: 'reply' }, async ({ request, behaviour, res }) => {
    if (request.method === 'POST' && request.path === '/v1/token') {
      const form = new URLSearchParams(request.rawBody);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange' || form.get('subject_token') !== SUBJECT_TOKEN) {
        sendJson(res, 400, { error: 'invalid_grant', error_description: 'subject token rejected' });
        return;
      }
      const token = `ya29.fake-vertex-${issuedTokens.length + 1}`;
      issuedTokens.push(token);
      sendJson(res, 200, { access_token: token, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: 3600 });
      return;
    }
    const route = MODEL_PATH.exec(request.path);
    if (request.method !== 'POST' || !route) {
      sendGoogleError(res, { kind: 'error', status: 404, errorType: 'NOT_FOUND', message: `The requested URL ${request.path} was not found on this server.` });
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!bearer || !issuedTokens.includes(bearer)) {
      sendGoogleError(res, { kind: 'error', status: 401, errorType: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials. Expected OAuth 2 access token.' });
      return;
    }
    const [, , , publisher, rawModel, method] = route;
    const model = decodeURIComponent(rawModel!);
    if (publisher === 'google') {
      const geminiBehaviour = behaviour.kind === 'reply' || behaviour.kind === 'die' || behaviour.kind === 'stall' ? { ...behaviour, reply: behaviour.reply?.gemini } : behaviour;
      await answerGemini(request, geminiBehaviour, res, model, method === 'streamGenerateContent');
      return;
    }
    const countTokens = model === 'count-tokens';
    const problem = claudeProblem(request.body, countTokens);
    if (problem) {
      sendAnthropicError(res, { kind: 'error', status: 400, errorType: 'invalid_request_error', message: problem });
      return;
    }
    if (behaviour.kind === 'hang') return;
    if (behaviour.kind === 'reset') return resetConnection(res);
    if (behaviour.kind === 'error') {
      // Platform refusals (quota, size) come in Google's envelope, the model's in Anthropic's.
      if (behaviour.errorType === behaviour.errorType.toUpperCase()) sendGoogleError(res, behaviour);
      else sendAnthropicError(res, behaviour);
      return;
    }
    if (countTokens) {
      await playJson(res, { input_tokens: estimateInputTokens(request.body) }, behaviour);
      return;
    }
    const reply = resolveReply({ model, ...behaviour.reply?.claude }, request);
    if (method === 'streamRawPredict') await playStream(res, anthropicStreamFrames(reply), behaviour, {});
    else await playJson(res, anthropicMessage(reply), behaviour);
  });

  const directory = mkdtempSync(path.join(tmpdir(), 'gatehouse-fake-vertex-'));
  const subjectFile = path.join(directory, 'token');
  writeFileSync(subjectFile, SUBJECT_TOKEN);
  const credentialsFile = path.join(directory, 'credentials.json');
  writeFileSync(
    credentialsFile,
    JSON.stringify({
      type: 'external_account',
      audience: '//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/fake-pool/providers/fake-provider',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: `${server.url}/v1/token`,
      credential_source: { file: subjectFile },
    }),
  );
  return Object.assign(server, { credentialsFile, issuedTokens });
}
