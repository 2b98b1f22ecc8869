/**
 * Revoking a grant's tokens at the authorization server that issued them (RFC 7009), best effort:
 * the grant is already gone from Gatehouse, so what happened there only goes to the audit trail.
 * A person's disconnect waits for it; grants an administrator deleted (a revoked server, a reset
 * authorization server) are revoked in the background, a few at a time, under one deadline, so
 * the administrator's change never waits on a provider that does not answer.
 */
import * as oidc from 'openid-client';
import { runInBackground } from '@/lib/platform/background';
import type { RegisteredServer } from '@/lib/mcp/registry/types';
import { clientBoundTo, configurationFor, type BoundClient } from './client';
import { recordGrantEvent, type GrantEvent } from './events';
import type { DeletedGrants, GrantRow } from './repository';
import { openedTokens } from './tokens';

/**
 * revoked: the server took them; not_advertised: it offers no revocation endpoint; withheld: the
 * tokens may not go there (the pinned issuer or its client changed since they were issued, so
 * they stay live at the issuer that made them); failed / timed_out: best effort ran out.
 */
export type UpstreamRevocation = 'revoked' | 'not_advertised' | 'withheld' | 'failed' | 'timed_out';

/** How long revoking one administrator's batch of grants may take in all. */
const DEFAULT_DEADLINE_MS = 15_000;
/** How many grants of a batch are revoked at once (one provider, not flooded). */
const CONCURRENCY = 4;

let batchDeadlineMs = DEFAULT_DEADLINE_MS;

/** Tests: a shorter deadline for a batch (a provider that never answers). */
export function setUpstreamRevocationDeadline(ms: number | null): void {
  batchDeadlineMs = ms ?? DEFAULT_DEADLINE_MS;
}

/**
 * Revokes the refresh token first (revoking it ends the grant at most servers), then the access
 * token, when the client's authorization server advertises a revocation endpoint. Tokens go only
 * to the pinned issuer they came from, through the client they were issued to (`client` is
 * boundClient's answer: a changed authorization server gets nothing, 'withheld').
 */
export async function revokeAtProvider(server: RegisteredServer, row: GrantRow, client: BoundClient, deadline?: AbortSignal): Promise<UpstreamRevocation> {
  if (typeof client === 'string') return 'withheld';
  const metadata = client.metadata as { revocation_endpoint?: string };
  if (!metadata.revocation_endpoint) return 'not_advertised';
  try {
    const tokens = await openedTokens(row);
    const config = await configurationFor(server, client, deadline);
    if (tokens.refresh_token) await oidc.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });
    await oidc.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
    return 'revoked';
  } catch (error) {
    if (deadline?.aborted) return 'timed_out';
    console.error(`mcp upstream oauth: revoking ${server.name} tokens at the authorization server failed: ${(error as Error).message}`);
    return 'failed';
  }
}

export interface AdminRevocation {
  /** The administrator whose change deleted the grants. */
  actor: { userId: string; email: string; roles: string[]; callSource?: string };
  /** server_revoked | authorization_server_reset */
  reason: string;
}

/**
 * Revokes upstream, in the background registry, the grants an administrator's change deleted,
 * and records one `mcp.upstream_grant` revoke event per grant with the outcome (the person whose
 * grant it was in `grant_user_id`). Returns at once.
 */
export function revokeDeletedGrants(server: RegisteredServer, deleted: DeletedGrants, change: AdminRevocation): void {
  if (deleted.grants.length === 0) return;
  runInBackground(`mcp upstream oauth: revoking ${deleted.grants.length} grant(s) of ${server.name} at its authorization server`, async () => {
    const deadline = AbortSignal.timeout(batchDeadlineMs);
    const queue = [...deleted.grants];
    const revokeOne = async (row: GrantRow): Promise<void> => {
      const client = clientBoundTo(
        deleted.pinned,
        deleted.clients.find((candidate) => candidate.issuer === row.issuer),
        row,
      );
      const outcome = deadline.aborted ? 'timed_out' : await revokeAtProvider(server, row, client, deadline);
      await recordRevocation(server, row, outcome, change.reason, { id: change.actor.userId, email: change.actor.email, roles: change.actor.roles }, change.actor.callSource ?? 'dashboard');
    };
    const revokeNext = async (): Promise<void> => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        // One grant's failure (its audit event not written) does not stop the others.
        try {
          await revokeOne(row);
        } catch (error) {
          console.error(`mcp upstream oauth: revoking a grant of ${server.name} at the authorization server failed: ${(error as Error).message}`);
        }
      }
    };
    // Settled, not all: the task leaves the registry only once every worker has finished.
    await Promise.allSettled(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, revokeNext));
  });
}

/** One `revoke` grant event for `row`'s tokens, with what the authorization server did. */
async function recordRevocation(server: RegisteredServer, row: GrantRow, outcome: UpstreamRevocation, reason: string, user: GrantEvent['user'], callSource: string): Promise<void> {
  const succeeded = outcome === 'revoked' || outcome === 'not_advertised';
  await recordGrantEvent({
    tenantId: server.tenantId,
    user,
    server,
    action: 'revoke',
    outcome: succeeded ? 'success' : 'failure',
    reason: succeeded ? reason : `upstream_revocation_${outcome}`,
    attributes: { upstream_revocation: outcome, grant_user_id: row.userId, issuer: row.issuer },
    callSource,
  });
}

/**
 * Revokes tokens just issued for a grant Gatehouse did not store (the server was revoked, its
 * authorization server reset, or the grant deleted while the token endpoint answered): in the
 * background registry under the batch deadline, so the person's request never waits on a
 * provider that does not answer, with one `revoke` grant event for the person.
 */
export function revokeUnstoredTokens(server: RegisteredServer, row: GrantRow, client: BoundClient, reason: string, callSource: string): void {
  runInBackground(`mcp upstream oauth: revoking unstored tokens of ${server.name} at its authorization server`, async () => {
    const outcome = await revokeAtProvider(server, row, client, AbortSignal.timeout(batchDeadlineMs));
    await recordRevocation(server, row, outcome, reason, { id: row.userId }, callSource);
  });
}
