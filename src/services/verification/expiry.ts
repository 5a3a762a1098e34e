import { and, lt, ne, or } from 'drizzle-orm'
import { deleteBounded } from '../../db/bounded-delete'
import { verifications } from '../../db/schema'
import type { Services } from '..'
import { abandonedRunningMs } from './verification'

/**
 * The expiry cron: attempts (and through a trigger their selfies) live three days.
 */

/**
 * Delete attempts past `expires_at`, at most `batchSize` per call; the trigger queues each
 * selfie for deletion from R2. A `running` attempt is left to finish, unless nothing has touched
 * it for an hour (its consumer is gone: a Worker invocation cannot run that long).
 *
 * @example
 * const n = await expireVerifications(s, { batchSize: 500 })
 */
export async function expireVerifications(s: Services, opts: { batchSize: number }): Promise<number> {
  const now = s.clock.now()
  return deleteBounded(
    s.database.db,
    verifications,
    verifications.userId,
    and(
      lt(verifications.expiresAt, now),
      or(
        ne(verifications.status, 'running'),
        lt(verifications.updatedAt, new Date(now.getTime() - abandonedRunningMs)),
      ),
    ),
    opts.batchSize,
  )
}
