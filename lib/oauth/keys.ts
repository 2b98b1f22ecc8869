import { rotateSigningKey } from '@/lib/tokens/signing-keys';
import { primaryTenant } from '@/lib/users/tenant';
import type { ChangeActor } from '@/lib/users/users';
import { auditOAuth } from './audit';

/** Rotates the token signing key and records who did it (CLI today, the dashboard later). */
export async function rotateKeys(actor: ChangeActor): Promise<{ kid: string; retired: string[] }> {
  const rotated = await rotateSigningKey();
  const tenant = await primaryTenant();
  await auditOAuth({
    tenantId: tenant.id,
    type: 'admin.change',
    action: 'signing_key.rotate',
    outcome: 'success',
    actor: { userId: actor.user_id, email: actor.email, roles: actor.roles },
    callSource: actor.call_source,
    target: { type: 'signing_key', id: rotated.kid },
    attributes: { retired: rotated.retired.join(',') },
  });
  return rotated;
}
