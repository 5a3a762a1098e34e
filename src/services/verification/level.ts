import { eq, sql } from 'drizzle-orm'
import { photos, profiles } from '../../db/schema'
import type { Services } from '..'

/**
 * Keep a member's verification level true to what is still verified after they change
 * something the level rests on: "basics" needs a verified age and gender, "photos" also at least
 * one verified photo still on the profile. The level only ever drops here; raising it is the
 * verification job's. Viewers are ranked by this level against members' privacy settings, so a
 * stale level would let people through gates they no longer meet.
 *
 * @example
 * await deletePhoto(s, userId, 2)
 * await refreshVerificationLevel(s, userId) // 'photos' → 'basics' if that was the last verified photo
 */
export async function refreshVerificationLevel(s: Services, userId: string): Promise<void> {
  const supported = sql`case
    when not (${profiles.verifiedAge} and ${profiles.verifiedGender}) then 'none'
    when exists (select 1 from ${photos} where ${photos.userId} = ${profiles.userId} and ${photos.verified}) then 'photos'
    else 'basics' end::verification_level`
  await s.database.db
    .update(profiles)
    .set({ verificationLevel: sql`least(${profiles.verificationLevel}, ${supported})` })
    .where(eq(profiles.userId, userId))
}
