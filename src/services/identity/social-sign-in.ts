import { and, eq, sql } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { socialIdentities, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { InvalidEmailError, normalizeEmail } from '../accounts/email'
import { assertAllowedClubName } from '../clubs/clubs'
import { isDisposableEmail } from '../accounts/disposable-email'
import type { ClientKind } from '../accounts/sessions'
import { type SignedIn, completeSignIn, findOrCreateMember, refuseIfBanned } from '../accounts/sign-in'
import type { SignUpAnswers } from '../accounts/sign-up-quiz'
import type { VerifiedIdentity } from './id-tokens'
import type { Services } from '..'

export interface SocialSignInInput {
  client: ClientKind
  device?: string | null
  ip: string
  answers?: SignUpAnswers
  pendingClub?: string
}

function normalized(email: string): string | null {
  try {
    return normalizeEmail(email)
  } catch (err) {
    if (err instanceof InvalidEmailError) return null
    throw err
  }
}

/**
 * Sign in with a verified Google or Apple identity. The account is found in this order:
 * 1. the member already linked to this (provider, subject);
 * 2. the member whose email the provider has *verified* — linked now, so later sign-ins take
 *    step 1 even if the email changes at the provider;
 * 3. a new member, who starts onboarding.
 * An email the provider has not verified never links or creates an account (409): anyone can
 * put any address on a Google account. The same bans, disposable-domain rule, quiz answers and
 * pending club apply as for email sign-in, and the result is the same token pair.
 *
 * @example
 * const signedIn = await signInWithIdentity(s, await verifyGoogleIdToken(s, idToken), { client: 'mobile', ip })
 */
export async function signInWithIdentity(
  s: Services,
  who: VerifiedIdentity,
  input: SocialSignInInput,
): Promise<SignedIn> {
  if (input.pendingClub) await assertAllowedClubName(s, input.pendingClub, 'json.pendingClub')
  const now = s.clock.now()
  const [linked] = await s.database.db
    .select({ user: users })
    .from(socialIdentities)
    .innerJoin(users, eq(users.id, socialIdentities.userId))
    .where(and(eq(socialIdentities.provider, who.provider), eq(socialIdentities.subject, who.subject)))
  let user = linked?.user
  // A linked identity's last use is written with the new session, in the same round trip.
  const alongside: BatchItem<'pg'>[] = []
  if (user) {
    await refuseIfBanned(s, user.email, input.ip)
    alongside.push(
      s.database.db
        .update(socialIdentities)
        .set({ lastUsedAt: now, email: who.email ?? sql`${socialIdentities.email}` })
        .where(and(eq(socialIdentities.provider, who.provider), eq(socialIdentities.subject, who.subject))),
    )
  } else {
    if (!who.email) {
      throw new ApiError('email_not_verified', `Your ${who.provider} account did not share an email address`)
    }
    if (!who.emailVerified) {
      throw new ApiError('email_not_verified', `${who.provider} has not verified ${who.email}`)
    }
    const email = normalized(who.email)
    if (!email) throw new ApiError('email_not_verified', `${who.provider} reported an unusable email address`)
    const [existing] = await s.database.db.select().from(users).where(eq(users.email, email))
    if (existing && existing.role !== 'member' && existing.role !== 'bot') {
      // Operators sign in with their password; a provider account must not become a second key.
      throw new ApiError('forbidden', 'Operators sign in with their password')
    }
    if (!existing && (await isDisposableEmail(s, email))) {
      throw new ApiError('disposable_email', 'Disposable email addresses cannot be used')
    }
    await refuseIfBanned(s, email, input.ip)
    user = existing ?? (await findOrCreateMember(s, email, who.email.trim()))
    const inserted = await s.database.db
      .insert(socialIdentities)
      .values({
        userId: user.id,
        provider: who.provider,
        subject: who.subject,
        email: who.email,
        createdAt: now,
        lastUsedAt: now,
      })
      .onConflictDoNothing()
      .returning({ id: socialIdentities.id })
    if (inserted.length === 0) {
      // Either a parallel first sign-in linked this subject already, or the member has another
      // account of this provider linked: one account per provider.
      const [same] = await s.database.db
        .select({ userId: socialIdentities.userId })
        .from(socialIdentities)
        .where(and(eq(socialIdentities.provider, who.provider), eq(socialIdentities.subject, who.subject)))
      if (same?.userId !== user.id) {
        throw new ApiError('conflict', `Another ${who.provider} account is linked; unlink it first`)
      }
    }
    s.log.info('identity.linked', { userId: user.id, provider: who.provider, created: !existing })
  }
  return completeSignIn(s, user, {
    client: input.client,
    device: input.device,
    ip: input.ip,
    alongside,
    extras:
      input.answers?.length || input.pendingClub
        ? { answers: input.answers?.length ? input.answers : null, pendingClub: input.pendingClub ?? null }
        : undefined,
  })
}
