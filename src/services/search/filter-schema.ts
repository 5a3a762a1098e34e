import { z } from '@hono/zod-openapi'
import {
  ethnicityValues,
  frequencyValues,
  lookingForValues,
  orientationValues,
  relationshipStatusValues,
  religionValues,
  starSignValues,
  yesNoMaybeValues,
  yesNoValues,
} from '../../db/schema'

/**
 * The shape of stored search filters, with no database access: shared by the filter service
 * (src/services/search/filters.ts), the query builders (src/services/search/query.ts) and the
 * Node-side search benchmark.
 */

/** The cap on Q&A filters: each costs the search a join. */
export const maxAnswerFilters = 20
/** Members whose profile field is empty match the list value `unanswered`. */
export const unanswered = 'unanswered'

/** One-way list filters: the profile column each reads and the values it may hold. */
export const listFilterValues = {
  orientation: orientationValues,
  ethnicity: ethnicityValues,
  lookingFor: lookingForValues,
  smoking: yesNoValues,
  drinking: frequencyValues,
  drugs: yesNoValues,
  longDistance: yesNoValues,
  relationshipStatus: relationshipStatusValues,
  hasKids: yesNoValues,
  wantsKids: yesNoMaybeValues,
  exercise: frequencyValues,
  religion: religionValues,
  starSign: starSignValues,
} as const
export type ListFilter = keyof typeof listFilterValues
export const listFilters = Object.keys(listFilterValues) as ListFilter[]

export const listSchema = (values: readonly string[]) =>
  z
    .array(z.enum([unanswered, ...values] as [string, ...string[]]))
    .min(1, 'Choose at least one value')
    .transform((v) => [...new Set(v)])
type ListFields<T> = { [K in ListFilter]: T }
export const perList = <T>(make: (f: ListFilter) => T) =>
  Object.fromEntries(listFilters.map((f) => [f, make(f)])) as unknown as ListFields<T>

export const HeightSchema = z
  .object({
    min: z.number().int().min(50).max(300).nullable(),
    max: z.number().int().min(50).max(300).nullable(),
  })
  .strict()
  .refine((h) => h.min === null || h.max === null || h.min <= h.max, {
    message: 'min must not exceed max',
    path: ['max'],
  })
  .openapi('HeightRange', {
    description:
      'Centimetres; a null bound is open. Members without a height are left out while a bound is set.',
  })

export const ShowHideSchema = z.enum(['show', 'hide'])

/**
 * The stored one-way filters. Parsing never fails: an absent, unknown or malformed key reads as
 * "any", so an old or hand-edited row can only widen a search, never break it.
 */
export const StoredFiltersSchema = z.object({
  ...perList((f) => listSchema(listFilterValues[f]).optional().catch(undefined)),
  height: HeightSchema.optional().catch(undefined),
  hasPhoto: z.boolean().optional().catch(undefined),
  messaged: ShowHideSchema.optional().catch(undefined),
  skipped: ShowHideSchema.optional().catch(undefined),
  club: z.string().nullable().optional().catch(undefined),
})
export type StoredFilters = z.infer<typeof StoredFiltersSchema>

export function parseStoredFilters(value: unknown): StoredFilters {
  const parsed = StoredFiltersSchema.safeParse(value && typeof value === 'object' ? value : {})
  return parsed.success ? parsed.data : {}
}
