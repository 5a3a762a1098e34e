import { and, asc, eq, gt, isNull, lt, sql } from 'drizzle-orm'
import { signInChallenges, tiers, users, type Role, type UserStatus } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { emailDomain } from './email'
import { hmacHex, randomDigits, timingSafeEqualStrings } from '../../lib/crypto'
import { forgetAccount } from './account-cache'
import { findActiveBan } from '../moderation/bans'
import { assertAllowedClubName } from '../clubs/clubs'
import { isDisposableEmail } from './disposable-email'
import { otpEmail, sendMail } from '../platform/mail'
import { type ClientKind, type IssuedTokens, startSession } from './sessions'
import { type SignUpAnswers, applySignUpExtras } from './sign-up-quiz'
import { assertSignInIpAllowed } from '../ip-reputation/check'
import type { Services } from '..'
import { describeError } from '../../lib/log'

/**
 * The seed's rule, kept on purpose: outside production an `@example.com` address signs in with
 * 000000 and no mail is sent, so developers, tests and app-store reviewers can sign in without a
 * mailbox. In production the shortcut does not exist: such addresses get a random code that is
 * never delivered (example.com is reserved and undeliverable).
 */
function usesFixedCode(s: Services, email: string) {
  return s.config.environment !== 'production' && emailDomain(email) === 'example.com'
}

const codeHash = (s: Services, challengeId: string, code: string) =>
  hmacHex(s.config.jwt.secret, `otp:${challengeId}:${code}`)

export async function refuseIfBanned(s: Services, email: string, ip: string) {
  const ban = await findActiveBan(s, { email, ip })
  if (ban) {
    s.log.info('auth.banned_attempt', { banId: ban.id, kind: ban.kind })
    throw new ApiError('banned', 'This account or network is banned from Rapport')
  }
}

async function deliverCode(s: Services, to: string, code: string, challengeId: string) {
  if (usesFixedCode(s, to)) return
  try {
    await sendMail(s, { to, ...otpEmail(code, { minutes: s.config.auth.otpTtlSeconds / 60 }) })
  } catch (err) {
    s.log.error('auth.code_delivery_failed', { challengeId, error: describeError(err) })
    throw new ApiError('service_unavailable', 'We could not send the sign-in email; try again in a moment', {
      cause: err,
    })
  }
}

/**
 * Start an email sign-in: check the address and bans, store a hashed six-digit code valid ten
 * minutes, and mail it. A new address will become an account only when the code is verified.
 *
 * @example
 * const { challengeId } = await requestSignInCode(s, { email: 'jane@gmail.com', emailDisplay: 'Jane@gmail.com', ip })
 */
export async function requestSignInCode(
  s: Services,
  input: { email: string; emailDisplay: string; ip: string; answers?: SignUpAnswers; pendingClub?: string },
): Promise<{ challengeId: string; expiresAt: Date }> {
  if (input.pendingClub) await assertAllowedClubName(s, input.pendingClub, 'json.pendingClub')
  // The reputation check runs alongside the account lookup (one round trip each, in parallel);
  // a listed address is refused before anything is written or sent.
  // Both settle before either outcome is used, so no query is left running past this request.
  const [account, address] = await Promise.allSettled([
    s.database.db.select({ id: users.id }).from(users).where(eq(users.email, input.email)),
    assertSignInIpAllowed(s, input.ip),
  ])
  if (address.status === 'rejected') throw address.reason
  if (account.status === 'rejected') throw account.reason
  const [existing] = account.value
  // Existing accounts keep working even if their provider later lands on the disposable list.
  if (!existing && (await isDisposableEmail(s, input.email))) {
    throw new ApiError('disposable_email', 'Disposable email addresses cannot be used', {
      errors: [{ path: 'json.email', message: 'Use a permanent email address' }],
    })
  }
  await refuseIfBanned(s, input.email, input.ip)

  const id = crypto.randomUUID()
  const code = usesFixedCode(s, input.email) ? '000000' : randomDigits(6)
  const expiresAt = new Date(s.clock.now().getTime() + s.config.auth.otpTtlSeconds * 1000)
  await s.database.db.insert(signInChallenges).values({
    id,
    email: input.email,
    emailDisplay: input.emailDisplay,
    codeHash: await codeHash(s, id, code),
    ip: input.ip,
    expiresAt,
    answers: input.answers?.length ? input.answers : null,
    pendingClub: input.pendingClub ?? null,
    createdAt: s.clock.now(),
  })
  try {
    await deliverCode(s, input.emailDisplay, code, id)
  } catch (err) {
    // Never leave a challenge whose code nobody received.
    await s.database.db.delete(signInChallenges).where(eq(signInChallenges.id, id))
    throw err
  }
  return { challengeId: id, expiresAt }
}

/** The email a live challenge was issued for (for per-email rate limits on resend). */
export async function challengeEmail(s: Services, challengeId: string): Promise<string | null> {
  const [row] = await s.database.db
    .select({ email: signInChallenges.email })
    .from(signInChallenges)
    .where(eq(signInChallenges.id, challengeId))
  return row?.email ?? null
}

/**
 * Send a fresh code for a live challenge: a new code, a new ten-minute window and a new
 * five-attempt budget. Consumed or unknown challenges are "not found".
 */
export async function resendSignInCode(
  s: Services,
  challengeId: string,
): Promise<{ challengeId: string; expiresAt: Date }> {
  const now = s.clock.now()
  const [challenge] = await s.database.db
    .select()
    .from(signInChallenges)
    .where(and(eq(signInChallenges.id, challengeId), isNull(signInChallenges.consumedAt)))
  if (!challenge) throw new ApiError('not_found', 'No pending sign-in with that id; request a new code')
  const code = usesFixedCode(s, challenge.email) ? '000000' : randomDigits(6)
  const expiresAt = new Date(now.getTime() + s.config.auth.otpTtlSeconds * 1000)
  const previous = {
    codeHash: challenge.codeHash,
    expiresAt: challenge.expiresAt,
    attempts: challenge.attempts,
  }
  await s.database.db
    .update(signInChallenges)
    .set({
      codeHash: await codeHash(s, challengeId, code),
      expiresAt,
      attempts: 0,
      sends: sql`${signInChallenges.sends} + 1`,
    })
    .where(eq(signInChallenges.id, challengeId))
  try {
    await deliverCode(s, challenge.emailDisplay, code, challengeId)
  } catch (err) {
    // The old code (if still valid) keeps working; the undelivered new one never does.
    await s.database.db
      .update(signInChallenges)
      .set({ ...previous, sends: sql`${signInChallenges.sends} - 1` })
      .where(eq(signInChallenges.id, challengeId))
    throw err
  }
  return { challengeId, expiresAt }
}

export interface SignedIn extends IssuedTokens {
  user: {
    id: string
    role: Role
    status: UserStatus
  }
  needsOnboarding: boolean
}

/**
 * Check a code. Each check spends one of the challenge's five attempts in a single conditional
 * UPDATE, so parallel guesses cannot exceed the budget; the right code consumes the challenge
 * (single use) and signs the person in, creating the account on first sign-in.
 */
export async function verifySignInCode(
  s: Services,
  input: { challengeId: string; code: string; client: ClientKind; device?: string | null; ip: string },
): Promise<SignedIn> {
  const now = s.clock.now()
  const max = s.config.auth.otpMaxAttempts
  const [challenge] = await s.database.db
    .update(signInChallenges)
    .set({ attempts: sql`${signInChallenges.attempts} + 1` })
    .where(
      and(
        eq(signInChallenges.id, input.challengeId),
        isNull(signInChallenges.consumedAt),
        gt(signInChallenges.expiresAt, now),
        lt(signInChallenges.attempts, max),
      ),
    )
    .returning()
  if (!challenge) {
    throw new ApiError('challenge_expired', 'This sign-in code has expired or was used up; request a new one')
  }
  const matches = timingSafeEqualStrings(challenge.codeHash, await codeHash(s, challenge.id, input.code))
  if (!matches) {
    const left = max - challenge.attempts
    throw new ApiError(
      'invalid_code',
      left > 0 ? `Wrong code; ${left} attempt${left === 1 ? '' : 's'} left` : 'Wrong code; request a new one',
    )
  }
  const consumed = await s.database.db
    .update(signInChallenges)
    .set({ consumedAt: now })
    .where(and(eq(signInChallenges.id, challenge.id), isNull(signInChallenges.consumedAt)))
    .returning({ id: signInChallenges.id })
  if (consumed.length === 0) throw new ApiError('challenge_expired', 'This sign-in code was already used')

  await refuseIfBanned(s, challenge.email, input.ip)
  const user = await findOrCreateMember(s, challenge.email, challenge.emailDisplay)
  return completeSignIn(s, user, { ...input, extras: challenge })
}

/**
 * The part of every sign-in that follows proof of identity (an emailed code, a Google or Apple
 * token): refuse bots and operator-deactivated accounts, reactivate a member who deactivated
 * themselves, count the sign-in, apply what the visitor did before signing up (quiz answers, a
 * club to join), and issue the session's token pair.
 */
export async function completeSignIn(
  s: Services,
  user: typeof users.$inferSelect,
  input: {
    client: ClientKind
    device?: string | null
    ip: string
    extras?: { answers: unknown; pendingClub: string | null }
  },
): Promise<SignedIn> {
  const now = s.clock.now()
  if (user.role === 'bot') throw new ApiError('forbidden', 'This account cannot sign in')
  if (user.status === 'deactivated' && user.deactivationReason === 'admin') {
    throw new ApiError('forbidden', 'This account was deactivated by an operator')
  }
  const status = user.status === 'deactivated' ? 'active' : user.status
  await s.database.db
    .update(users)
    .set({
      status,
      deactivatedAt: null,
      deactivationReason: null,
      inactivityNotifiedAt: null,
      signInCount: sql`${users.signInCount} + 1`,
      lastSignInAt: now,
      lastOnlineAt: now,
      updatedAt: now,
    })
    .where(eq(users.id, user.id))
  await forgetAccount(s, user.id)
  const extras = input.extras
  if (extras && (extras.answers !== null || extras.pendingClub !== null)) {
    // What the visitor did before signing up must never cost them the sign-in.
    await applySignUpExtras(s, { id: user.id, tierId: user.tierId, status }, extras).catch((err: unknown) =>
      s.log.error('sign_up.extras_failed', { userId: user.id, error: describeError(err) }),
    )
  }
  const tokens = await startSession(s, user, { client: input.client, device: input.device, ip: input.ip })
  return {
    ...tokens,
    user: { id: user.id, role: user.role, status },
    needsOnboarding: status === 'onboarding',
  }
}

/** The account for an email, created in the "onboarding" state (with the default tier) if new. */
export async function findOrCreateMember(s: Services, email: string, emailDisplay: string) {
  const [existing] = await s.database.db.select().from(users).where(eq(users.email, email))
  if (existing) return existing
  const [defaultTier] = await s.database.db
    .select({ id: tiers.id })
    .from(tiers)
    .orderBy(asc(tiers.createdAt))
    .limit(1)
  const [created] = await s.database.db
    .insert(users)
    .values({ email, emailDisplay, tierId: defaultTier?.id ?? null })
    .onConflictDoNothing({ target: users.email })
    .returning()
  if (created) return created
  // Two first sign-ins for one address raced; the other one created the row.
  const [raced] = await s.database.db.select().from(users).where(eq(users.email, email))
  return raced!
}
