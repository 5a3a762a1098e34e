import { and, desc, eq, gt, inArray, isNull } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { refreshTokens, sessions, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { randomToken, sha256Hex } from '../../lib/crypto'
import { isUuid } from '../../lib/ids'
import { describeError } from '../../lib/log'
import { type Role, signAccessToken } from './tokens'
import { closeCodes } from '../chat/protocol'
import { markSessionsLive, revokedKey, sessionKey } from './account-cache'
import type { Services } from '..'

export type ClientKind = 'web' | 'mobile'

export interface IssuedTokens {
  accessToken: string
  expiresIn: number
  refreshToken: string
  refreshExpiresAt: Date
  sessionId: string
}

/**
 * Start a session for a user who just proved who they are, and issue its first token pair.
 * Sessions beyond the per-user cap are revoked, least recently used first.
 *
 * One Postgres round trip: the session, its refresh token and the look-up of sessions beyond the
 * cap go in one HTTP batch (one transaction, so the look-up sees the new session), after
 * `alongside.statements` — statements the caller wants in the same transaction (a sign-in's
 * account update); `alongside.afterCommit` runs once they committed, alongside the session's
 * Redis marker. Revoking excess sessions, rare, costs more.
 *
 * @example
 * const tokens = await startSession(s, user, { client: 'mobile', ip })
 */
export async function startSession(
  s: Services,
  user: { id: string; role: Role; tierId?: string | null },
  meta: { client: ClientKind; device?: string | null; ip: string },
  alongside: { statements?: BatchItem<'pg'>[]; afterCommit?: () => Promise<void> } = {},
): Promise<IssuedTokens> {
  const now = s.clock.now()
  const refreshExpiresAt = new Date(now.getTime() + s.config.jwt.refreshTtlSeconds * 1000)
  const refreshToken = randomToken()
  const sessionId = crypto.randomUUID()
  const db = s.database.db
  const results = await db.batch([
    ...(alongside.statements ?? []),
    db.insert(sessions).values({
      id: sessionId,
      userId: user.id,
      client: meta.client,
      device: meta.device ?? null,
      ip: meta.ip,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: refreshExpiresAt,
    }),
    db.insert(refreshTokens).values({
      tokenHash: await sha256Hex(refreshToken),
      sessionId,
      issuedAt: now,
      expiresAt: refreshExpiresAt,
    }),
    excessSessionsQuery(s, user.id),
  ] as unknown as [BatchItem<'pg'>, ...BatchItem<'pg'>[]])
  const excess = results[results.length - 1] as { id: string }[]
  const [, access] = await Promise.all([
    revokeSessions(
      s,
      excess.map((r) => r.id),
      'session_limit',
    ),
    signAccessToken(s.config.jwt, { userId: user.id, sessionId, role: user.role, tierId: user.tierId }, now),
    markSessionsLive(s, [sessionId], sessionMarkerTtl(s)),
    alongside.afterCommit?.(),
  ])
  return { accessToken: access.token, expiresIn: access.expiresIn, refreshToken, refreshExpiresAt, sessionId }
}

/**
 * Exchange a refresh token for a new pair (rotation). A token that was already rotated is a
 * replay — someone holds a stolen copy — so the whole session is revoked (RFC 9700 §4.14.2).
 */
export async function rotateRefreshToken(s: Services, presented: string, ip: string): Promise<IssuedTokens> {
  const now = s.clock.now()
  const hash = await sha256Hex(presented)
  const [found] = await s.database.db
    .select({
      token: refreshTokens,
      session: sessions,
      user: { id: users.id, role: users.role, status: users.status, tierId: users.tierId },
    })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(refreshTokens.tokenHash, hash))
  if (!found || found.session.revokedAt || found.token.expiresAt <= now || found.user.role === 'bot') {
    throw new ApiError('unauthorized', 'The refresh token is invalid or expired')
  }
  const newToken = randomToken()
  const refreshExpiresAt = new Date(now.getTime() + s.config.jwt.refreshTtlSeconds * 1000)
  // Claim the presented token atomically: of two concurrent refreshes with one token, one wins.
  const claimed = await s.database.db
    .update(refreshTokens)
    .set({ rotatedAt: now })
    .where(and(eq(refreshTokens.tokenHash, hash), isNull(refreshTokens.rotatedAt)))
    .returning({ hash: refreshTokens.tokenHash })
  if (claimed.length === 0) {
    await revokeSessions(s, [found.session.id], 'refresh_token_reused')
    s.log.warn('auth.refresh_reuse', { sessionId: found.session.id, userId: found.user.id, ip })
    throw new ApiError(
      'refresh_token_reused',
      'This refresh token was already used; the session has been ended',
    )
  }
  await s.database.db.batch([
    s.database.db.insert(refreshTokens).values({
      tokenHash: await sha256Hex(newToken),
      sessionId: found.session.id,
      issuedAt: now,
      expiresAt: refreshExpiresAt,
    }),
    s.database.db
      .update(sessions)
      .set({ lastSeenAt: now, ip, expiresAt: refreshExpiresAt })
      .where(eq(sessions.id, found.session.id)),
    s.database.db.update(users).set({ lastOnlineAt: now }).where(eq(users.id, found.user.id)),
  ])
  const [access] = await Promise.all([
    signAccessToken(
      s.config.jwt,
      {
        userId: found.user.id,
        sessionId: found.session.id,
        role: found.user.role,
        tierId: found.user.tierId,
      },
      now,
    ),
    markSessionsLive(s, [found.session.id], sessionMarkerTtl(s)),
  ])
  return {
    accessToken: access.token,
    expiresIn: access.expiresIn,
    refreshToken: newToken,
    refreshExpiresAt,
    sessionId: found.session.id,
  }
}

/**
 * Revoke sessions: in Postgres (the record) and in Redis (what every request checks), so their
 * access tokens stop working immediately rather than at expiry.
 */
export async function revokeSessions(s: Services, sessionIds: string[], reason: string): Promise<void> {
  if (sessionIds.length === 0) return
  const revoked = await s.database.db
    .update(sessions)
    .set({ revokedAt: s.clock.now(), revokedReason: reason })
    .where(and(inArray(sessions.id, sessionIds), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id, userId: sessions.userId })
  await markRevoked(s, sessionIds)
  await Promise.all(revoked.map((r) => closeSessionSockets(s, r.userId, r.id, reason)))
}

/** Revoke every live session of a user (ban, deletion, deactivation by inactivity). */
export async function revokeUserSessions(s: Services, userId: string, reason: string): Promise<number> {
  const revoked = await s.database.db
    .update(sessions)
    .set({ revokedAt: s.clock.now(), revokedReason: reason })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id })
  await markRevoked(
    s,
    revoked.map((r) => r.id),
  )
  if (revoked.length > 0) await closeSessionSockets(s, userId, null, reason)
  return revoked.length
}

/**
 * Close the sockets of a revoked session (every session of the user when null): the user's
 * UserHub closes its own and relays to each conversation the user has open. Sockets are
 * authenticated once, at upgrade, so without this a revoked device would keep chatting. Awaited
 * rather than left to `waitUntil`, because crons and queue consumers call this without a request
 * context; a failure is logged, never thrown — the revocation itself already stands.
 */
async function closeSessionSockets(s: Services, userId: string, sessionId: string | null, reason: string) {
  try {
    await s.env.USER_HUB.getByName(userId).closeSessions(sessionId, closeCodes.sessionRevoked, reason)
  } catch (err) {
    s.log.warn('auth.socket_close_failed', { userId, error: describeError(err) })
  }
}

/** An access token lives this long at most (plus clock tolerance); so must the markers about its session. */
const sessionMarkerTtl = (s: Services) => s.config.jwt.accessTtlSeconds + 60

async function markRevoked(s: Services, sessionIds: string[]) {
  if (sessionIds.length === 0) return
  const pipeline = s.redis.pipeline()
  for (const id of sessionIds) {
    pipeline.set(revokedKey(id), 1, { ex: sessionMarkerTtl(s) })
    pipeline.del(sessionKey(id))
  }
  try {
    await pipeline.exec()
  } catch (err) {
    // Postgres already records the revocation; requests fall back to it while Redis is down.
    s.log.error('auth.revocation_marker_failed', { error: describeError(err), sessions: sessionIds.length })
  }
}

/**
 * Is this session live (issued, not revoked, not expired), according to Postgres? The hot path
 * asks Redis (readAuthState in account-cache.ts); this is the answer when Redis has no marker
 * for the session or cannot answer at all — a revoked or never-issued session must never pass
 * because a cache was down. A live answer puts the marker back, so the next requests skip this.
 */
export async function isSessionLiveInDatabase(s: Services, sessionId: string): Promise<boolean> {
  if (!isUuid(sessionId)) return false
  const [row] = await s.database.db
    .select({ revokedAt: sessions.revokedAt, expiresAt: sessions.expiresAt })
    .from(sessions)
    .where(eq(sessions.id, sessionId))
  return row !== undefined && row.revokedAt === null && row.expiresAt > s.clock.now()
}

/** Put back the live marker of a session Postgres just confirmed. */
export function remarkSessionLive(s: Services, sessionId: string): Promise<void> {
  return markSessionsLive(s, [sessionId], sessionMarkerTtl(s))
}

/** A user's live sessions beyond `maxSessionsPerUser`, least recently used last: the ones to revoke. */
function excessSessionsQuery(s: Services, userId: string) {
  return s.database.db
    .select({ id: sessions.id })
    .from(sessions)
    .where(
      and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, s.clock.now())),
    )
    .orderBy(desc(sessions.lastSeenAt), desc(sessions.createdAt))
    .offset(s.config.auth.maxSessionsPerUser)
}

/** A user's live sessions, most recent first, for "where am I signed in". */
export async function listSessions(s: Services, userId: string) {
  return s.database.db
    .select({
      id: sessions.id,
      client: sessions.client,
      device: sessions.device,
      ip: sessions.ip,
      createdAt: sessions.createdAt,
      lastSeenAt: sessions.lastSeenAt,
    })
    .from(sessions)
    .where(
      and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, s.clock.now())),
    )
    .orderBy(desc(sessions.lastSeenAt))
}

/** Revoke one of the caller's own sessions; someone else's id is "not found", never "forbidden". */
export async function revokeOwnSession(s: Services, userId: string, sessionId: string): Promise<void> {
  const [row] = await s.database.db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt)))
  if (!row) throw new ApiError('not_found', 'No such session')
  await revokeSessions(s, [row.id], 'user')
}
