import { and, eq, isNull } from 'drizzle-orm'
import { tiers, users, type UserStatus } from '../../db/schema'
import { isUuid } from '../../lib/ids'
import { describeError } from '../../lib/log'
import type { Role } from './tokens'
import { type LimitDecision, type LimitRule, queueLimit } from '../platform/rate-limit'
import type { Services } from '..'

/**
 * What a request needs to know about its caller, cached in Redis for a short time so that an
 * authenticated request costs one Redis round trip in total: the revocation marker and this
 * summary are read in the same pipeline (the dating app cached resolved sessions for 60 s for
 * the same reason). Writes that change these fields call {@link forgetAccount}; the TTL bounds
 * staleness of the rest (`lastOnlineAt`).
 */
export interface AccountSummary {
  id: string
  email: string
  name: string | null
  username: string | null
  role: Role
  status: UserStatus
  tier: string | null
  tierId: string | null
  createdAt: string
  lastOnlineAt: string
}

export const accountCacheTtlSeconds = 60
export const accountKey = (userId: string) => `auth:account:${userId}`
export const revokedKey = (sessionId: string) => `auth:revoked:${sessionId}`

/** The columns of an account a summary is made of. */
export type SummarySource = Pick<
  typeof users.$inferSelect,
  'id' | 'emailDisplay' | 'name' | 'username' | 'role' | 'status' | 'tierId' | 'createdAt' | 'lastOnlineAt'
>

/** An account's summary from its row and its tier's name. */
export function accountSummaryOf(row: SummarySource, tier: string | null): AccountSummary {
  return {
    id: row.id,
    email: row.emailDisplay,
    name: row.name,
    username: row.username,
    role: row.role,
    status: row.status,
    tier,
    tierId: row.tierId,
    createdAt: row.createdAt.toISOString(),
    lastOnlineAt: row.lastOnlineAt.toISOString(),
  }
}

/** The summary from Postgres (the source of truth); null when the account no longer exists. */
export async function loadAccountSummary(s: Services, userId: string): Promise<AccountSummary | null> {
  if (!isUuid(userId)) return null
  const [row] = await s.database.db
    .select({
      id: users.id,
      emailDisplay: users.emailDisplay,
      name: users.name,
      username: users.username,
      role: users.role,
      status: users.status,
      tierId: users.tierId,
      createdAt: users.createdAt,
      lastOnlineAt: users.lastOnlineAt,
      tier: tiers.name,
    })
    .from(users)
    .leftJoin(tiers, eq(tiers.id, users.tierId))
    // Soft-deleted accounts (admin) do not exist for authentication.
    .where(and(eq(users.id, userId), isNull(users.deletedAt)))
  return row ? accountSummaryOf(row, row.tier) : null
}

/**
 * Marks a session as issued and live, so authentication can tell a session that exists from a
 * correctly signed token naming one that was never issued (or was deleted) without asking
 * Postgres. Set whenever an access token is issued for the session (and after a database check
 * found it live), for as long as that token can live; dropped on revocation.
 */
export const sessionKey = (sessionId: string) => `auth:session:${sessionId}`

/** What authentication learns from Redis in its one round trip. */
export interface AuthState {
  revoked: boolean
  /** False when no live-session marker exists: Postgres must confirm the session. */
  known: boolean
  cached: AccountSummary | null
  /** The route's limit, counted in the same round trip, when one was asked for. */
  limit?: LimitDecision
}

/**
 * One Redis round trip: is the session revoked, is it known to be live, the cached summary if
 * there is one — and, when `limit` is given, the caller's rate limit for the route, counted in
 * the same pipeline. Everything returned is settled. Throws when Redis cannot answer; the caller
 * falls back to Postgres.
 */
export async function readAuthState(
  s: Services,
  sessionId: string,
  userId: string,
  limit?: { rule: LimitRule; identity: string },
): Promise<AuthState> {
  const pipeline = s.redis
    .pipeline()
    .get(revokedKey(sessionId))
    .get(sessionKey(sessionId))
    .get<AccountSummary>(accountKey(userId))
  const queued = limit ? queueLimit(s, pipeline, limit.rule, limit.identity) : undefined
  let results
  try {
    results = await pipeline.exec({ keepErrors: true })
  } catch (err) {
    queued?.settle(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
  queued?.settle(results)
  const [revoked, known, cached] = results as [
    { result: unknown; error?: string },
    { result: unknown; error?: string },
    { result: AccountSummary | null; error?: string },
  ]
  const failed = revoked.error ?? known.error ?? cached.error
  if (failed) throw new Error(`auth state: ${failed}`)
  return {
    revoked: revoked.result !== null,
    known: known.result !== null,
    cached: cached.result ?? null,
    limit: queued ? await queued.decision : undefined,
  }
}

/**
 * Mark sessions live for `ttlSeconds` (the lifetime of the access token just issued). Failures
 * are logged, not thrown: without the marker the next request confirms the session in Postgres.
 */
export async function markSessionsLive(s: Services, sessionIds: string[], ttlSeconds: number): Promise<void> {
  if (sessionIds.length === 0) return
  const pipeline = s.redis.pipeline()
  for (const id of sessionIds) pipeline.set(sessionKey(id), 1, { ex: ttlSeconds })
  try {
    await pipeline.exec()
  } catch (err) {
    s.log.warn('auth.session_marker_failed', { error: describeError(err) })
  }
}

/** Store a summary for the next requests; failures only cost a cache miss later. */
export async function cacheAccount(s: Services, summary: AccountSummary): Promise<void> {
  try {
    await s.redis.set(accountKey(summary.id), summary, { ex: accountCacheTtlSeconds })
  } catch (err) {
    s.log.warn('auth.account_cache_write_failed', { error: describeError(err) })
  }
}

/** Drop a cached summary after a write that changes role, status, tier, name or email. */
export async function forgetAccount(s: Services, userId: string): Promise<void> {
  try {
    await s.redis.del(accountKey(userId))
  } catch (err) {
    // A stale summary lives at most accountCacheTtlSeconds; revocation does not depend on it.
    s.log.warn('auth.account_cache_forget_failed', { userId, error: describeError(err) })
  }
}
