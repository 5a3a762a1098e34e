import { isNotNull, lt, or } from 'drizzle-orm'
import { bans, exportTokens, refreshTokens, sessions, signInChallenges } from '../../db/schema'
import type { Services } from '..'
import { deleteBounded } from '../../db/bounded-delete'
import { day } from './account'

/**
 * Garbage collection (a cron): expired sign-in challenges, refresh tokens, sessions, export links and bans.
 */

export interface GarbageRunResult {
  signInChallenges: number
  refreshTokens: number
  sessions: number
  exportTokens: number
  bans: number
}

/**
 * Delete auth records nobody can use any more, at most `batchSize` rows per table per call so a
 * run stays bounded however large the backlog (a full batch is logged: the next run continues).
 *
 * - sign-in challenges expired or consumed more than a day ago (a day of them helps explain a
 *   member's "I never got the code" report);
 * - refresh tokens past expiry: an expired token is refused before reuse detection looks at it,
 *   so keeping it would detect nothing. They go before sessions, so the session deletes below
 *   rarely cascade into many rows;
 * - sessions revoked or expired more than 30 days ago (they stay that long in the member's
 *   "where was I signed in" history and the export);
 * - export tokens used or expired (the export itself is not stored);
 * - bans expired or lifted more than 90 days ago; recent ones stay as the moderators' record.
 *
 * @example
 * const counts = await collectAccountGarbage(s, { batchSize: 5000 })
 */
export async function collectAccountGarbage(
  s: Services,
  opts: { batchSize: number },
): Promise<GarbageRunResult> {
  const { db } = s.database
  const now = s.clock.now()
  const ago = (days: number) => new Date(now.getTime() - days * day)
  const limit = opts.batchSize

  const challenges = await deleteBounded(
    db,
    signInChallenges,
    signInChallenges.id,
    or(lt(signInChallenges.expiresAt, ago(1)), lt(signInChallenges.consumedAt, ago(1))),
    limit,
  )
  const tokens = await deleteBounded(
    db,
    refreshTokens,
    refreshTokens.tokenHash,
    lt(refreshTokens.expiresAt, now),
    limit,
  )
  const oldSessions = await deleteBounded(
    db,
    sessions,
    sessions.id,
    or(lt(sessions.revokedAt, ago(30)), lt(sessions.expiresAt, ago(30))),
    limit,
  )
  const exports = await deleteBounded(
    db,
    exportTokens,
    exportTokens.tokenHash,
    or(isNotNull(exportTokens.usedAt), lt(exportTokens.expiresAt, now)),
    limit,
  )
  const oldBans = await deleteBounded(
    db,
    bans,
    bans.id,
    or(lt(bans.expiresAt, ago(90)), lt(bans.liftedAt, ago(90))),
    limit,
  )

  const result: GarbageRunResult = {
    signInChallenges: challenges,
    refreshTokens: tokens,
    sessions: oldSessions,
    exportTokens: exports,
    bans: oldBans,
  }
  const full = Object.entries(result).filter(([, n]) => n >= limit)
  if (full.length > 0) s.log.warn('gc.backlog', { tables: full.map(([t]) => t), batchSize: limit })
  return result
}
