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
import { type LimitRule, enforceLimits } from '../rate-limit'
import { type IssuedTokens, startSession } from './sessions'
import type { Services } from '..'

/**
 * Password sign-in attempts allowed per client IP and per account in 15 minutes. Every attempt
 * counts, and it is counted *before* the password is checked: a client over the limit learns
 * nothing from its next guess (a limit that only counted failures would still answer a right
 * password with 200), and it no longer makes us spend a KDF run. Operators stay signed in through
 * refresh tokens, so ten sign-ins in a quarter of an hour is far above honest use.
 */
export const loginAttemptsPerIp: LimitRule = { name: 'login-ip', limit: 10, periodSeconds: 900 }
export const loginAttemptsPerAccount: LimitRule = { name: 'login-account', limit: 10, periodSeconds: 900 }

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

  // Username and email of one account share a counter; unknown names are counted by a hash of
  // what was typed (identifiers can be personal data, so they never become Redis keys in clear).
  const accountIdentity = user
    ? `user:${user.id}`
    : `login:${(await sha256Hex(input.identifier.trim().toLowerCase())).slice(0, 32)}`
  await enforceLimits(s, [
    [loginAttemptsPerIp, `ip:${input.ip}`],
    [loginAttemptsPerAccount, accountIdentity],
  ])

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
