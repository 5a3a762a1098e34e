import { eq, sql } from 'drizzle-orm'
import { profiles } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import type { Services } from '..'
import { maxGrantedFlair } from './flair'

/**
 * Grant (`on`) or remove flair `name` for member `userId`; returns the member's granted flair.
 * 404 when the member has no profile; 422 past {@link maxGrantedFlair}. Idempotent.
 *
 * @example
 * await setGrantedFlair(s, memberId, 'moderator-pick', true)
 */
export async function setGrantedFlair(
  s: Services,
  userId: string,
  name: string,
  on: boolean,
): Promise<{ flair: string[] }> {
  const [row] = await s.database.db
    .update(profiles)
    .set({
      flair: on
        ? sql`case when ${name} = any(${profiles.flair}) then ${profiles.flair} else ${profiles.flair} || ${name}::text end`
        : sql`array_remove(${profiles.flair}, ${name}::text)`,
    })
    .where(
      on
        ? sql`${profiles.userId} = ${userId} and (${name} = any(${profiles.flair}) or cardinality(${profiles.flair}) < ${maxGrantedFlair})`
        : eq(profiles.userId, userId),
    )
    .returning({ flair: profiles.flair })
  if (row) return { flair: row.flair }
  const [exists] = await s.database.db
    .select({ userId: profiles.userId })
    .from(profiles)
    .where(eq(profiles.userId, userId))
  if (!exists) throw new ApiError('not_found', 'No such member')
  throw new ApiError('validation_failed', `A member can hold at most ${maxGrantedFlair} granted flair`, {
    errors: [{ path: 'param.flair', message: `At most ${maxGrantedFlair} per member` }],
  })
}
