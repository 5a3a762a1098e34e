import { z } from '@hono/zod-openapi'
import { type SQL, sql } from 'drizzle-orm'

/**
 * Flair: badges shown on every profile view, search result and feed item. Most are computed
 * from the member's data each time they are read (so they can never go stale); admins grant the
 * rest, stored in `profiles.flair`.
 *
 * Computed flair:
 * - `gold`: the member's tier has the `paidFlair` feature;
 * - `q-and-a-200` / `q-and-a-500` / `q-and-a-1000`: the highest answer count reached;
 * - `one-week` / `one-month` / `one-year`: the longest membership reached;
 * - `long-bio`: an about text of at least 500 characters;
 * - `early-adopter`: onboarded before the configured cutoff (`EARLY_ADOPTER_CUTOFF`);
 * - `voice-bio`: has a voice bio;
 * - `gif`: one of the member's photos is animated.
 */

export const computedFlair = [
  'gold',
  'q-and-a-200',
  'q-and-a-500',
  'q-and-a-1000',
  'one-week',
  'one-month',
  'one-year',
  'long-bio',
  'early-adopter',
  'voice-bio',
  'gif',
] as const

/** The most flair an admin can grant one member. */
export const maxGrantedFlair = 16

export const FlairNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'lower-case letters, digits and dashes, at most 32')
  .refine((v) => !(computedFlair as readonly string[]).includes(v), 'is computed, not granted')
  .openapi({ example: 'moderator-pick' })

export const FlairSchema = z.array(z.string()).openapi('Flair', {
  description: `Badges: computed (${computedFlair.join(', ')}) then any an admin granted.`,
  example: ['q-and-a-200', 'one-month', 'voice-bio'],
})

/**
 * The flair of the profile row aliased `alias` as a `text[]` SQL expression (computed flair in the
 * order above, then granted flair). `cutoff` is the early-adopter cutoff (null: none).
 *
 * @example
 * sql`select ${flairExpression('p', s.config.flair.earlyAdopterCutoff)} as flair from profiles p`
 */
export function flairExpression(alias: string, cutoff: Date | null): SQL {
  const p = (column: string) => sql.raw(`${alias}.${column}`)
  const early = cutoff ? sql`${p('onboarded_at')} < ${cutoff.toISOString()}::timestamptz` : sql`false`
  return sql`(array_remove(array[
    case when exists (select 1 from users fu join tiers ft on ft.id = fu.tier_id
      where fu.id = ${p('user_id')} and ft.features -> 'paidFlair' = 'true'::jsonb) then 'gold' end,
    case when ${p('answer_count')} >= 1000 then 'q-and-a-1000' when ${p('answer_count')} >= 500 then 'q-and-a-500'
      when ${p('answer_count')} >= 200 then 'q-and-a-200' end,
    case when ${p('onboarded_at')} <= now() - interval '1 year' then 'one-year'
      when ${p('onboarded_at')} <= now() - interval '1 month' then 'one-month'
      when ${p('onboarded_at')} <= now() - interval '1 week' then 'one-week' end,
    case when char_length(${p('about')}) >= 500 then 'long-bio' end,
    case when ${early} then 'early-adopter' end,
    case when exists (select 1 from voice_bios fv where fv.user_id = ${p('user_id')}) then 'voice-bio' end,
    case when exists (select 1 from photos fp where fp.user_id = ${p('user_id')} and fp.is_gif and fp.position > 0)
      then 'gif' end
  ]::text[], null) || ${p('flair')})`
}
