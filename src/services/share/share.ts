import { z } from '@hono/zod-openapi'
import { eq } from 'drizzle-orm'
import { profiles, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { TraitSchema, myPersonality } from '../personality/personality'
import { visibleProfileRow } from '../profiles/profiles'
import type { Services } from '..'

/**
 * Share links: every member has a short public id (`profiles.public_id`, 12 random base-62
 * characters, never derived from the account id) and a public page of their personality at
 * `/api/v1/share/{shareId}`. The page follows the profile's rules for anonymous visitors: only
 * public profiles that neither hide from strangers nor ask viewers for verification, of live
 * accounts; anything else is a 404 exactly like an unknown id.
 */

export const ShareIdSchema = z
  .string()
  .regex(/^[0-9A-Za-z]{12}$/, 'must be 12 letters or digits')
  .openapi({ example: 'q3VxT0bL9aZc' })

export const SharedPersonalitySchema = z
  .object({
    shareId: ShareIdSchema,
    name: z.string(),
    urlSlug: z.string(),
    answerCount: z.number().int(),
    personality: z.array(TraitSchema),
  })
  .openapi('SharedPersonality')
export type SharedPersonality = z.infer<typeof SharedPersonalitySchema>

/**
 * The public personality page behind `shareId`, or 404.
 *
 * @example
 * const page = await sharedPersonality(s, 'q3VxT0bL9aZc')
 */
export async function sharedPersonality(s: Services, shareId: string): Promise<SharedPersonality> {
  const [owner] = await s.database.db
    .select({ userId: profiles.userId, name: users.name })
    .from(profiles)
    .innerJoin(users, eq(users.id, profiles.userId))
    .where(eq(profiles.publicId, shareId))
  if (!owner) throw new ApiError('not_found', 'No such share link')
  // Anonymous-visitor rules; a refusal for verification is a 404 here too (nothing to unlock).
  const row = await visibleProfileRow(s, null, owner.userId).catch((err: unknown) => {
    if (err instanceof ApiError) throw new ApiError('not_found', 'No such share link')
    throw err
  })
  const { answerCount, personality } = await myPersonality(s, owner.userId)
  return { shareId, name: owner.name ?? '', urlSlug: row.profile.urlSlug!, answerCount, personality }
}
