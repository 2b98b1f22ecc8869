import { db } from '@/lib/db/client';
import { Prisma } from '@/lib/generated/prisma/client';
import { posixQuote } from '@/lib/platform/shell';
import { recordUserChange } from '@/lib/users/change-audit';
import { UserInputError } from '@/lib/users/tenant';
import type { ChangeActor } from '@/lib/users/users';
import { normalizeIssuer } from './sso-claims';

/**
 * Bindings of upstream IdP accounts to Gatehouse users (user_sso_identities). Single sign-on finds
 * its user by (issuer, subject); an email address only ever creates a new user, or binds an
 * account that can sign in no other way (see sso-provision.ts). Everything else is bound by an
 * administrator, here.
 */

/** The user an IdP account is bound to, if any. */
export function findSsoBinding(issuer: string, subject: string) {
  return db().userSsoIdentity.findUnique({
    where: { issuer_subject: { issuer: normalizeIssuer(issuer), subject } },
    include: { user: { include: { department: true } } },
  });
}

/** How an administrator binds an account that single sign-on refused to take over. */
export function linkCommand(input: { email: string; issuer: string; subject: string; providerId: string }): string {
  const quote = (value: string) => (/^[A-Za-z0-9@._:/+-]+$/.test(value) ? value : posixQuote(value));
  return `gatehouse users link-sso --email ${quote(input.email)} --provider ${quote(input.providerId)} --issuer ${quote(normalizeIssuer(input.issuer))} --subject ${quote(input.subject)}`;
}

export interface LinkSsoInput {
  email: string;
  /** The gatehouse.yaml provider id, for display. */
  providerId: string;
  issuer: string;
  subject: string;
}

/**
 * Binds an IdP account to an existing user, so their next single sign-on signs in as that user
 * (their password, if any, keeps working). Refuses an IdP account already bound to someone else.
 */
export async function linkSsoIdentity(input: LinkSsoInput, actor: ChangeActor): Promise<{ userId: string; email: string }> {
  const email = input.email.trim().toLowerCase();
  const issuer = normalizeIssuer(input.issuer);
  const subject = input.subject.trim();
  if (!issuer || !subject || !input.providerId.trim()) throw new UserInputError('--provider, --issuer and --subject are all required');
  const user = await db().user.findUnique({ where: { email } });
  if (!user) throw new UserInputError(`no user with email ${email}`);
  const bound = await findSsoBinding(issuer, subject);
  if (bound && bound.userId !== user.id) throw new UserInputError(`that identity-provider account is already linked to ${bound.user.email}`);
  if (!bound) {
    try {
      await db().userSsoIdentity.create({ data: { userId: user.id, issuer, subject, providerId: input.providerId.trim() } });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') throw new UserInputError('that identity-provider account was linked by someone else just now');
      throw error;
    }
  }
  await recordUserChange(user.tenantId, 'user.sso_link', actor, {
    target: { type: 'user', id: user.id, name: user.email },
    attributes: { provider: input.providerId.trim(), idp_issuer: issuer, idp_subject: subject, already_linked: Boolean(bound) },
  });
  return { userId: user.id, email: user.email };
}
