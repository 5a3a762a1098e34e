import { eq, sql } from 'drizzle-orm'
import { users } from '../../db/schema'
import { sha256Hex } from '../../lib/crypto'
import { normalizeEmail } from './email'
import { ApiError } from '../../lib/http/errors'
import {
  PasswordHasherBusyError,
  hashPassword,
  needsRehash,
  unmatchableHash,
  verifyPassword,
} from './password'
import { findActiveBan } from '../moderation/bans'
import { describeError } from '../../lib/log'
import { type IssuedTokens, startSession } from './sessions'
import type { Services } from '..'

/**
 * Failed password sign-ins, counted in fixed 15-minute windows (OWASP's authentication guidance):
 *
 * - per account *and* client IP: 5 failures refuse that pair — the guesser — until the window ends;
 * - per client IP, across accounts: 30 failures refuse the IP (one host spraying many names);
 * - per account, from anywhere: past 100 failures every attempt on the account is slowed by
 *   {@link loginSlowdownMs} — a distributed guesser is slowed down, but nobody is locked out.
 *
 * Only failures count, and only the guesser's own counters refuse, so someone who knows an
 * operator's username cannot lock the operator out: a right password from an IP that has not
 * failed is accepted whatever others have tried. A refused pair or IP learns nothing (the password
 * is not checked, no KDF run is spent).
 */
export const loginFailureLimits = {
  windowSeconds: 900,
  perAccountAndIp: 5,
  perIp: 30,
  perAccountBeforeSlowdown: 100,
}
export const loginSlowdownMs = 2000

const failureKeys = (account: string, ip: string) => ({
  pair: `login:fail:pair:${account}:${ip}`,
  ip: `login:fail:ip:${ip}`,
  account: `login:fail:account:${account}`,
})

/**
 * The failure counts for this account and IP, in one round trip, and the ms until the pair's and
 * the IP's windows end. Redis trouble follows the rate-limit fail mode (open: count nothing).
 */
async function readFailures(s: Services, keys: ReturnType<typeof failureKeys>) {
  try {
    const [pair, pairTtl, ip, ipTtl, account] = await s.redis
      .pipeline()
      .get<number>(keys.pair)
      .pttl(keys.pair)
      .get<number>(keys.ip)
      .pttl(keys.ip)
      .get<number>(keys.account)
      .exec<[number | null, number, number | null, number, number | null]>()
    return { pair: Number(pair ?? 0), pairTtl, ip: Number(ip ?? 0), ipTtl, account: Number(account ?? 0) }
  } catch (err) {
    if (s.config.rateLimit.failMode === 'closed') {
      throw new ApiError('service_unavailable', 'Sign-in is unavailable; try again shortly', { cause: err })
    }
    s.log.warn('auth.login_limits_unavailable', { error: describeError(err) })
    return { pair: 0, pairTtl: 0, ip: 0, ipTtl: 0, account: 0 }
  }
}

/** Count one failure on all three counters (one round trip); a window starts with its first failure. */
async function recordFailure(s: Services, keys: ReturnType<typeof failureKeys>) {
  const ttl = loginFailureLimits.windowSeconds
  const p = s.redis.pipeline()
  for (const key of [keys.pair, keys.ip, keys.account]) {
    p.incr(key)
    p.expire(key, ttl, 'NX')
  }
  try {
    await p.exec()
  } catch (err) {
    s.log.warn('auth.login_limits_unavailable', { error: describeError(err) })
  }
}

function refuseUntil(ms: number): never {
  const retryAfter = String(Math.max(1, Math.ceil(ms / 1000)))
  throw new ApiError('rate_limited', `Too many failed sign-ins; retry after ${retryAfter} s`, {
    headers: { 'Retry-After': retryAfter },
  })
}

/** The one answer for every credential failure, whether or not the account exists. */
const wrongCredentials = () => new ApiError('unauthorized', 'Wrong username, email or password.')

/**
 * The account a login identifier names: an email when it contains `@` (normalised like every
 * stored address), a username otherwise. Usernames are stored lower-case.
 */
function parseIdentifier(identifier: string): { email: string } | { username: string } | null {
  const trimmed = identifier.trim()
  if (trimmed.includes('@')) {
    try {
      return { email: normalizeEmail(trimmed) }
    } catch {
      return null
    }
  }
  return { username: trimmed.toLowerCase() }
}

/**
 * The boilerplate's password login, for operators (and any non-bot account with a password).
 *
 * Runs the KDF whether or not the account exists, or has a password, so that neither the answer
 * nor its timing tells an attacker which usernames are real. Checks that only make sense once the
 * password is right — bot accounts, deactivated accounts, bans — come after it for the same
 * reason. A stored hash with outdated parameters is upgraded on success.
 *
 * @example
 * const tokens = await loginWithPassword(s, { identifier: 'admin', password, ip, device: userAgent })
 */
export async function loginWithPassword(
  s: Services,
  input: { identifier: string; password: string; ip: string; device?: string | null },
): Promise<IssuedTokens> {
  const who = parseIdentifier(input.identifier)
  const [user] = who
    ? await s.database.db
        .select({
          id: users.id,
          email: users.email,
          role: users.role,
          status: users.status,
          passwordHash: users.passwordHash,
          tierId: users.tierId,
        })
        .from(users)
        .where('email' in who ? eq(users.email, who.email) : eq(users.username, who.username))
    : []

  // Username and email of one account share counters; unknown names are counted by a hash of
  // what was typed (identifiers can be personal data, so they never become Redis keys in clear).
  const accountIdentity = user
    ? `user:${user.id}`
    : `login:${(await sha256Hex(input.identifier.trim().toLowerCase())).slice(0, 32)}`
  const keys = failureKeys(accountIdentity, input.ip)
  const failures = await readFailures(s, keys)
  if (failures.pair >= loginFailureLimits.perAccountAndIp) refuseUntil(failures.pairTtl)
  if (failures.ip >= loginFailureLimits.perIp) refuseUntil(failures.ipTtl)
  if (failures.account >= loginFailureLimits.perAccountBeforeSlowdown) {
    await new Promise((resolve) => setTimeout(resolve, loginSlowdownMs))
  }

  let matches: boolean
  try {
    matches = await verifyPassword(input.password, user?.passwordHash ?? unmatchableHash)
  } catch (err) {
    if (err instanceof PasswordHasherBusyError) {
      throw new ApiError('service_unavailable', 'Sign-in is busy; retry in a moment', {
        headers: { 'Retry-After': '1' },
      })
    }
    throw err
  }
  if (!user || !user.passwordHash || !matches) {
    await recordFailure(s, keys)
    s.log.info('auth.login_failed', { userId: user?.id ?? null, ip: input.ip })
    throw wrongCredentials()
  }
  if (user.role === 'bot') throw new ApiError('forbidden', 'Bot accounts cannot sign in')
  if (user.status === 'deactivated') throw new ApiError('forbidden', 'This account is deactivated')
  const ban = await findActiveBan(s, { email: user.email, ip: input.ip })
  if (ban) {
    s.log.info('auth.banned_attempt', { banId: ban.id, kind: ban.kind, userId: user.id })
    throw new ApiError('banned', 'This account or network is banned from Rapport')
  }

  const tokens = await startSession(
    s,
    { id: user.id, role: user.role, tierId: user.tierId },
    { client: 'web', device: input.device?.slice(0, 256) ?? null, ip: input.ip },
  )
  const now = s.clock.now()
  await s.database.db
    .update(users)
    .set({
      signInCount: sql`${users.signInCount} + 1`,
      lastSignInAt: now,
      lastOnlineAt: now,
      updatedAt: now,
      // Upgrade the hash while the plaintext is at hand; a failure here only postpones it.
      ...(needsRehash(user.passwordHash)
        ? { passwordHash: await hashPassword(input.password).catch(() => user.passwordHash) }
        : {}),
    })
    .where(eq(users.id, user.id))
  s.log.info('auth.login', { userId: user.id, role: user.role, sessionId: tokens.sessionId })
  return tokens
}
