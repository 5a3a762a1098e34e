import { eq } from 'drizzle-orm'
import { profiles } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { slugCandidates, slugFitsName } from './slug-format'
import type { Services } from '..'

export { previewUrlSlug } from './slug-format'

/** Slugs tried before giving up: the plain one, then suffixes of 1 to 9 digits. */
export const slugAttempts = 10

/** Whether `err` (or a cause of it) is the unique violation on `profiles.url_slug`. */
function isSlugTaken(err: unknown): boolean {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const { code, constraint, message } = e as { code?: unknown; constraint?: unknown; message?: unknown }
    if (code === '23505') {
      return String(constraint ?? message ?? '').includes('profiles_url_slug_key')
    }
  }
  return false
}

/**
 * Give the member's profile row a unique URL slug derived from `name` and return it. A member whose
 * current slug already fits the name (renamed "Ada" → "ADA", or a suffixed "ada-42") keeps it, so
 * links to a profile do not break needlessly. Otherwise the candidates of {@link slugCandidates} are
 * written in turn, the next one whenever the unique index says the slug is taken — a race between
 * two members with the same name is settled by the index, not by a read-then-write. After
 * {@link slugAttempts} taken slugs: 409 `conflict` (nine random digits colliding is not a real case).
 *
 * The profile row must exist (onboarding creates it with the draft): 404 otherwise. `random`
 * replaces the CSPRNG in tests.
 *
 * @example
 * await assignUrlSlug(s, caller.userId, 'Ada Lovelace') // 'ada-lovelace', or 'ada-lovelace-7' if taken
 */
export async function assignUrlSlug(
  s: Services,
  userId: string,
  name: string,
  opts: { random?: () => number } = {},
): Promise<string> {
  const [current] = await s.database.db
    .select({ urlSlug: profiles.urlSlug })
    .from(profiles)
    .where(eq(profiles.userId, userId))
  if (!current) throw new ApiError('not_found', 'There is no profile to give a URL slug to')
  if (current.urlSlug && (await slugFitsName(current.urlSlug, name))) return current.urlSlug

  for (const candidate of await slugCandidates(name, slugAttempts, opts.random)) {
    try {
      const [row] = await s.database.db
        .update(profiles)
        .set({ urlSlug: candidate, updatedAt: s.clock.now() })
        .where(eq(profiles.userId, userId))
        .returning({ urlSlug: profiles.urlSlug })
      if (!row) throw new ApiError('not_found', 'There is no profile to give a URL slug to')
      return candidate
    } catch (err) {
      if (!isSlugTaken(err)) throw err
    }
  }
  throw new ApiError('conflict', 'Could not find a free profile URL for this name; please try again')
}
