import { and, asc, eq, gt, isNull, lt, sql } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { isUniqueViolation } from '../../db/errors'
import { signInChallenges, tiers, users, type Role, type UserStatus } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { emailDomain } from './email'
import { hmacHex, randomDigits, timingSafeEqualStrings } from '../../lib/crypto'
import { type SummarySource, accountSummaryOf, cacheAccount, forgetAccount } from './account-cache'
import { cachedTiers } from './tiers'
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
  refuseBan(s, await findActiveBan(s, { email, ip }))
}

/** 403 `banned` (logged) when `ban` is one; for callers that looked the ban up alongside other reads. */
function refuseBan(s: Services, ban: Awaited<ReturnType<typeof findActiveBan>>) {
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
  // One round trip for every check: the reputation check, the account lookup, the disposable
  // list and the ban list run in parallel; their outcomes are then applied in the order the rules
  // give (a listed address first, then a disposable address of a new account, then a ban). A
  // listed address is refused before anything is written or sent.
  // All settle before any outcome is used, so no query is left running past this request.
  const [address, account, disposable, ban] = await Promise.allSettled([
    assertSignInIpAllowed(s, input.ip),
    s.database.db.select({ id: users.id }).from(users).where(eq(users.email, input.email)),
    isDisposableEmail(s, input.email),
    findActiveBan(s, { email: input.email, ip: input.ip }),
  ])
  if (address.status === 'rejected') throw address.reason
  if (account.status === 'rejected') throw account.reason
  const [existing] = account.value
  // Existing accounts keep working even if their provider later lands on the disposable list.
  if (!existing) {
    if (disposable.status === 'rejected') throw disposable.reason
    if (disposable.value) {
      throw new ApiError('disposable_email', 'Disposable email addresses cannot be used', {
        errors: [{ path: 'json.email', message: 'Use a permanent email address' }],
      })
    }
  }
  if (ban.status === 'rejected') throw ban.reason
  refuseBan(s, ban.value)

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
 * UPDATE, so parallel guesses cannot exceed the budget; the same statement consumes the
 * challenge when the code is right (single use), and the person is signed in, the account
 * created on first sign-in.
 *
 * `email` is the challenge's address when the caller already read it (the route does, for its
 * rate limit): the ban and the account are then read in the same round trip as the attempt. A
 * member's sign-in, the first one included, costs three Postgres round trips in all with the route's own read.
 */
export async function verifySignInCode(
  s: Services,
  input: {
    challengeId: string
    code: string
    client: ClientKind
    device?: string | null
    ip: string
    email?: string | null
  },
): Promise<SignedIn> {
  const now = s.clock.now()
  const max = s.config.auth.otpMaxAttempts
  const hash = await codeHash(s, input.challengeId, input.code)
  const db = s.database.db
  const attempt = db
    .update(signInChallenges)
    .set({
      attempts: sql`${signInChallenges.attempts} + 1`,
      // Hashes of a keyed HMAC: comparing them in SQL reveals nothing an attacker can steer.
      consumedAt: sql`case when ${signInChallenges.codeHash} = ${hash} then ${now.toISOString()}::timestamptz end`,
    })
    .where(
      and(
        eq(signInChallenges.id, input.challengeId),
        isNull(signInChallenges.consumedAt),
        gt(signInChallenges.expiresAt, now),
        lt(signInChallenges.attempts, max),
      ),
    )
    .returning()
  const email = input.email ?? null
  const [attempted, banned] = await Promise.allSettled([
    email ? db.batch([attempt, memberByEmailQuery(s, email), defaultTierQuery(s)]) : db.batch([attempt]),
    email ? findActiveBan(s, { email, ip: input.ip }) : null,
  ])
  if (attempted.status === 'rejected') throw attempted.reason
  const [[challenge], found, tier] = attempted.value
  if (!challenge) {
    throw new ApiError('challenge_expired', 'This sign-in code has expired or was used up; request a new one')
  }
  const matches = timingSafeEqualStrings(challenge.codeHash, hash)
  if (!matches || challenge.consumedAt === null) {
    const left = max - challenge.attempts
    throw new ApiError(
      'invalid_code',
      left > 0 ? `Wrong code; ${left} attempt${left === 1 ? '' : 's'} left` : 'Wrong code; request a new one',
    )
  }

  if (email === challenge.email && banned.status === 'fulfilled' && found && tier) {
    refuseBan(s, banned.value)
    const [existing] = found
    if (existing) return completeSignIn(s, existing, { ...input, extras: challenge })
    if (challenge.answers === null && challenge.pendingClub === null) {
      return signUp(
        s,
        { email: challenge.email, emailDisplay: challenge.emailDisplay, tierId: tier[0]?.id ?? null },
        input,
      )
    }
    const user = await createMember(s, challenge.email, challenge.emailDisplay)
    return completeSignIn(s, user, { ...input, extras: challenge })
  }
  // Without the address read beforehand (or when that read failed): read what depends on it now.
  await refuseIfBanned(s, challenge.email, input.ip)
  const user = await findOrCreateMember(s, challenge.email, challenge.emailDisplay)
  return completeSignIn(s, user, { ...input, extras: challenge })
}

/**
 * The part of every sign-in that follows proof of identity (an emailed code, a Google or Apple
 * token): refuse bots and operator-deactivated accounts, reactivate a member who deactivated
 * themselves, count the sign-in, apply what the visitor did before signing up (quiz answers, a
 * club to join), and issue the session's token pair. The account update and the new session go
 * in one round trip.
 */
export async function completeSignIn(
  s: Services,
  user: typeof users.$inferSelect,
  input: {
    client: ClientKind
    device?: string | null
    ip: string
    extras?: { answers: unknown; pendingClub: string | null }
    /** Statements of the caller's to commit with the new session (a social identity's last use). */
    alongside?: BatchItem<'pg'>[]
  },
): Promise<SignedIn> {
  const now = s.clock.now()
  if (user.role === 'bot') throw new ApiError('forbidden', 'This account cannot sign in')
  if (user.status === 'deactivated' && user.deactivationReason === 'admin') {
    throw new ApiError('forbidden', 'This account was deactivated by an operator')
  }
  const status = user.status === 'deactivated' ? 'active' : user.status
  const extras = input.extras
  const accountUpdate = s.database.db
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
  const sessionInput = { client: input.client, device: input.device, ip: input.ip }
  let tokens: IssuedTokens
  if (extras && (extras.answers !== null || extras.pendingClub !== null)) {
    // The extras read the updated account, so it is written first.
    await accountUpdate
    await forgetAccount(s, user.id)
    // What the visitor did before signing up must never cost them the sign-in.
    await applySignUpExtras(s, { id: user.id, tierId: user.tierId, status }, extras).catch((err: unknown) =>
      s.log.error('sign_up.extras_failed', { userId: user.id, error: describeError(err) }),
    )
    tokens = await startSession(s, user, sessionInput, { statements: input.alongside })
  } else {
    const tierName = tierNameOf(s, user.tierId)
    tokens = await startSession(s, user, sessionInput, {
      statements: [accountUpdate, ...(input.alongside ?? [])],
      // After the update has committed, so no request can cache the account as it was before.
      afterCommit: () => cacheSignedIn(s, { ...user, status, lastOnlineAt: now }, tierName),
    })
  }
  return {
    ...tokens,
    user: { id: user.id, role: user.role, status },
    needsOnboarding: status === 'onboarding',
  }
}

/**
 * A first sign-in with nothing done before it (no quiz answers, no club to join): the account is
 * created in the same transaction as its first session, already counting this sign-in, so a
 * sign-up costs no more round trips than a returning member's sign-in. The id is chosen here so
 * the session can refer to it. When a parallel first sign-in for the same address created the
 * account meanwhile, the unique email index refuses ours and rolls the whole batch back; this
 * sign-in then joins the account the other one created.
 */
export async function signUp(
  s: Services,
  account: { email: string; emailDisplay: string; tierId: string | null },
  input: { client: ClientKind; device?: string | null; ip: string },
): Promise<SignedIn> {
  const now = s.clock.now()
  const user = {
    id: crypto.randomUUID(),
    role: 'member' as const,
    status: 'onboarding' as const,
    tierId: account.tierId,
  }
  const insert = s.database.db.insert(users).values({
    ...account,
    id: user.id,
    signInCount: 1,
    lastSignInAt: now,
    lastOnlineAt: now,
    createdAt: now,
    updatedAt: now,
  })
  const tierName = tierNameOf(s, user.tierId)
  const summary = {
    ...user,
    emailDisplay: account.emailDisplay,
    name: null,
    username: null,
    createdAt: now,
    lastOnlineAt: now,
  }
  try {
    const tokens = await startSession(s, user, input, {
      statements: [insert],
      afterCommit: () => cacheSignedIn(s, summary, tierName),
    })
    return { ...tokens, user: { id: user.id, role: user.role, status: user.status }, needsOnboarding: true }
  } catch (err) {
    if (!isUniqueViolation(err)) throw err
    const [raced] = await memberByEmailQuery(s, account.email)
    if (!raced) throw err
    return completeSignIn(s, raced, input)
  }
}

/**
 * A tier's name, from this isolate's copy of the tier table (read in parallel with the sign-in's
 * own statements when the copy is stale); null without a tier, undefined when it cannot be read.
 */
function tierNameOf(s: Services, tierId: string | null): Promise<string | null | undefined> {
  if (!tierId) return Promise.resolve(null)
  return cachedTiers(s).then(
    (byId) => byId.get(tierId)?.name ?? null,
    () => undefined,
  )
}

/**
 * Once a sign-in has committed: the account as it now stands goes into the account cache, so the
 * member's first request after signing in is answered without reading it from Postgres. When the
 * tier's name could not be read, the cached copy is dropped instead (the next request reads it).
 */
async function cacheSignedIn(
  s: Services,
  account: SummarySource,
  tierName: Promise<string | null | undefined>,
): Promise<void> {
  const tier = await tierName
  if (tier === undefined) return forgetAccount(s, account.id)
  await cacheAccount(s, accountSummaryOf(account, tier))
}

/** The default tier (the oldest), as a statement for a batch; empty when there is no tier. */
function defaultTierQuery(s: Services) {
  return s.database.db.select({ id: tiers.id }).from(tiers).orderBy(asc(tiers.createdAt)).limit(1)
}

/** The account for an email (the whole row), as a statement for a batch. */
function memberByEmailQuery(s: Services, email: string) {
  return s.database.db.select().from(users).where(eq(users.email, email))
}

/** The account for an email, created in the "onboarding" state (with the default tier) if new. */
export async function findOrCreateMember(s: Services, email: string, emailDisplay: string) {
  const [existing] = await memberByEmailQuery(s, email)
  if (existing) return existing
  return createMember(s, email, emailDisplay)
}

/**
 * A new account for an email nobody had a moment ago, in the "onboarding" state with the default
 * (oldest) tier — one statement; when a concurrent first sign-in created it meanwhile, that row.
 */
async function createMember(s: Services, email: string, emailDisplay: string) {
  const defaultTier = sql`(select ${tiers.id} from ${tiers} order by ${tiers.createdAt} asc limit 1)`
  const [created] = await s.database.db
    .insert(users)
    .values({ email, emailDisplay, tierId: defaultTier })
    .onConflictDoNothing({ target: users.email })
    .returning()
  if (created) return created
  // Two first sign-ins for one address raced; the other one created the row.
  const [raced] = await memberByEmailQuery(s, email)
  return raced!
}
