import { db } from '@/lib/db/client';
import { listClients, setClientDisabled } from '@/lib/oauth/clients';
import { UserInputError } from '@/lib/users/tenant';
import { changeActorOf, type AdminActor } from './actor';
import { requireAdmin } from './guard';

/** One OAuth client as the clients table shows it. */
export interface ClientRow {
  clientId: string;
  name: string;
  type: 'public' | 'confidential';
  registeredVia: 'admin' | 'dynamic' | 'metadata_document';
  trusted: boolean;
  redirectUris: string[];
  grantTypes: string[];
  registrationIp: string | null;
  createdAt: string;
  disabledAt: string | null;
}

/** Which applications may obtain tokens is policy: policy.admin, tenant-wide. */
export async function listManagedClients(actor: AdminActor): Promise<ClientRow[]> {
  await requireAdmin(actor, 'policy.admin', undefined, 'client.list');
  const own = new Set((await db().oAuthClient.findMany({ where: { tenantId: actor.tenantId }, select: { clientId: true } })).map((client) => client.clientId));
  return (await listClients())
    .filter((client) => own.has(client.clientId))
    .map((client) => ({
      clientId: client.clientId,
      name: client.name,
      type: client.confidential ? 'confidential' : 'public',
      registeredVia: client.origin,
      trusted: client.trusted,
      redirectUris: client.redirectUris,
      grantTypes: client.grantTypes,
      registrationIp: client.registrationIp,
      createdAt: client.createdAt.toISOString(),
      disabledAt: client.disabledAt?.toISOString() ?? null,
    }));
}

/** Disables a client (ending its sign-ins) or enables it again; lib/oauth records the change. */
export async function setManagedClientDisabled(actor: AdminActor, clientId: string, disabled: boolean): Promise<void> {
  const client = await db().oAuthClient.findFirst({ where: { clientId, tenantId: actor.tenantId } });
  if (!client) throw new UserInputError('that client does not exist (any more)');
  await requireAdmin(actor, 'policy.admin', undefined, disabled ? 'client.disable' : 'client.enable', { type: 'oauth_client', id: client.clientId, name: client.name });
  await setClientDisabled(client.clientId, disabled, changeActorOf(actor));
}
