import { db } from '@/lib/db/client';

/** Whether the user already agreed to give this client at least these scopes. */
export async function hasConsent(userId: string, clientDbId: string, scopes: readonly string[]): Promise<boolean> {
  const consent = await db().oAuthConsent.findUnique({ where: { userId_clientId: { userId, clientId: clientDbId } } });
  if (!consent) return false;
  return scopes.every((scope) => consent.scopes.includes(scope));
}

export async function recordConsent(userId: string, clientDbId: string, scopes: readonly string[]): Promise<void> {
  const existing = await db().oAuthConsent.findUnique({ where: { userId_clientId: { userId, clientId: clientDbId } } });
  const merged = [...new Set([...(existing?.scopes ?? []), ...scopes])];
  await db().oAuthConsent.upsert({
    where: { userId_clientId: { userId, clientId: clientDbId } },
    create: { userId, clientId: clientDbId, scopes: merged },
    update: { scopes: merged },
  });
}
