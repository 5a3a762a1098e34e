import { and, asc, eq } from 'drizzle-orm'
import { socialIdentities, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import type { Provider } from './id-tokens'
import type { Services } from '..'

/**
 * Apple's relay addresses only forward mail from domains the operator registered with Apple, so
 * an emailed sign-in code to one cannot be relied on: for such a member the Apple link is the
 * only sure way in.
 */
export const isApplePrivateRelay = (email: string) =>
  email.toLowerCase().endsWith('@privaterelay.appleid.com')

export interface SignInMethods {
  email: { address: string; usable: boolean }
  providers: { provider: Provider; email: string | null; linkedAt: Date; lastUsedAt: Date }[]
}

/**
 * How a member can sign in: their email (codes by mail) and each linked provider.
 *
 * @example
 * const { email, providers } = await listSignInMethods(s, caller.userId)
 */
export async function listSignInMethods(s: Services, userId: string): Promise<SignInMethods> {
  const [[user], links] = await Promise.all([
    s.database.db.select({ emailDisplay: users.emailDisplay }).from(users).where(eq(users.id, userId)),
    s.database.db
      .select()
      .from(socialIdentities)
      .where(eq(socialIdentities.userId, userId))
      .orderBy(asc(socialIdentities.createdAt)),
  ])
  if (!user) throw new ApiError('not_found', 'No such account')
  return {
    email: { address: user.emailDisplay, usable: !isApplePrivateRelay(user.emailDisplay) },
    providers: links.map((l) => ({
      provider: l.provider as Provider,
      email: l.email,
      linkedAt: l.createdAt,
      lastUsedAt: l.lastUsedAt,
    })),
  }
}

/**
 * Unlink a provider, unless it is the member's last way to sign in (409): a member whose email is
 * an Apple relay address and who has no other provider would lock themselves out.
 *
 * @example
 * await unlinkProvider(s, caller.userId, 'google')
 */
export async function unlinkProvider(s: Services, userId: string, provider: Provider): Promise<void> {
  const methods = await listSignInMethods(s, userId)
  if (!methods.providers.some((p) => p.provider === provider)) {
    throw new ApiError('not_found', `No ${provider} sign-in is linked to this account`)
  }
  const others = methods.providers.filter((p) => p.provider !== provider).length
  if (!methods.email.usable && others === 0) {
    throw new ApiError(
      'last_sign_in_method',
      `${provider} is the only way to sign in to this account; link another provider first`,
    )
  }
  await s.database.db
    .delete(socialIdentities)
    .where(and(eq(socialIdentities.userId, userId), eq(socialIdentities.provider, provider)))
  s.log.info('identity.unlinked', { userId, provider })
}
