import { z } from '@hono/zod-openapi'
import { and, asc, count, eq, sql } from 'drizzle-orm'
import {
  genderValues,
  memberClubs,
  profiles,
  questions,
  searchAnswerFilters,
  searchPreferences,
} from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { ageOn, defaultAgeRange } from './geo'
import { type Page, type PageRequest, paginate, pageWindow } from '../../lib/http/pagination'
import { GenderSchema } from '../profiles/fields'
import {
  HeightSchema,
  type ListFilter,
  type StoredFilters,
  ShowHideSchema,
  listSchema,
  perList,
  listFilterValues,
  listFilters,
  maxAnswerFilters,
  parseStoredFilters,
  unanswered,
} from './filter-schema'
import type { Services } from '..'

export * from './filter-schema'

/**
 * Search filters. The mutual ones (genders, age range, distance) are columns of
 * `search_preferences` because other members' searches read them; the one-way ones live in its
 * `filters` JSON object, where a missing key means "any"; Q&A filters are rows of
 * `search_answer_filters` (at most {@link maxAnswerFilters}). Members change one filter per call.
 */

const AgeRangeSchema = z
  .object({ min: z.number().int().min(18).max(99), max: z.number().int().min(18).max(99) })
  .strict()
  .refine((a) => a.min <= a.max, { message: 'min must not exceed max', path: ['max'] })
  .openapi('AgeRange')

/** Largest distance a member may set; anything further is "anywhere" (null). */
export const maxDistanceKm = 20_000

const patchFields = {
  gender: z
    .array(GenderSchema)
    .min(1, 'Choose at least one gender')
    .transform((v) => [...new Set(v)]),
  age: AgeRangeSchema,
  distance: z
    .number()
    .int()
    .min(1)
    .max(maxDistanceKm)
    .nullable()
    .openapi({ description: 'Kilometres; null = anywhere' }),
  ...perList((f) => listSchema(listFilterValues[f])),
  height: HeightSchema,
  hasPhoto: z.boolean().openapi({ description: 'true: only members with a photo' }),
  messaged: ShowHideSchema.openapi({ description: 'Members I have messaged (default show)' }),
  skipped: ShowHideSchema.openapi({
    description: 'Members I skipped (default hide); their skips always hide',
  }),
  club: z
    .string()
    .trim()
    .toLowerCase()
    .min(1)
    .max(42)
    .nullable()
    .openapi({ description: 'One of my clubs, or null for no club' }),
}

/** Exactly one filter per request (a PATCH sets one thing), named in the 422 otherwise. */
export const FilterPatchSchema = z
  .object(patchFields)
  .partial()
  .strict()
  .superRefine((v, ctx) => {
    const keys = Object.keys(v)
    if (keys.length === 0) ctx.addIssue({ code: 'custom', message: 'Set exactly one filter', path: [] })
    if (keys.length > 1) {
      for (const key of keys) {
        ctx.addIssue({ code: 'custom', message: 'Set exactly one filter per request', path: [key] })
      }
    }
  })
  .openapi('SearchFilterPatch', { description: 'Exactly one field.', minProperties: 1, maxProperties: 1 })
export type FilterPatch = z.infer<typeof FilterPatchSchema>

export const AnswerFilterSchema = z
  .object({
    questionId: z.number().int(),
    text: z.string(),
    topic: z.string(),
    answer: z.boolean(),
    acceptUnanswered: z.boolean(),
  })
  .openapi('AnswerFilter')

export const SearchFiltersSchema = z
  .object({
    gender: z.array(GenderSchema),
    age: z.object({ min: z.number().int(), max: z.number().int() }),
    distance: z.number().int().nullable(),
    ...perList((f) => z.array(z.enum([...listFilterValues[f], unanswered] as [string, ...string[]]))),
    height: z.object({ min: z.number().int().nullable(), max: z.number().int().nullable() }),
    hasPhoto: z.boolean(),
    messaged: ShowHideSchema,
    skipped: ShowHideSchema,
    club: z.string().nullable(),
    questions: z.array(AnswerFilterSchema),
  })
  .openapi('SearchFilters', {
    description: 'Every filter; a list holding every value (with `unanswered`) means "any".',
  })
export type SearchFilters = z.infer<typeof SearchFiltersSchema>

/** The preferences row, or defaults from the profile when a member has none yet. */
async function loadPreferences(s: Services, userId: string) {
  const [row] = await s.database.db
    .select({
      genders: searchPreferences.genders,
      minAge: searchPreferences.minAge,
      maxAge: searchPreferences.maxAge,
      maxDistanceKm: searchPreferences.maxDistanceKm,
      filters: searchPreferences.filters,
      seekingGenders: profiles.seekingGenders,
      dateOfBirth: profiles.dateOfBirth,
      onboarded: sql<boolean>`${profiles.onboardedAt} is not null`,
      hasRow: sql<boolean>`${searchPreferences.userId} is not null`,
    })
    .from(profiles)
    .leftJoin(searchPreferences, eq(searchPreferences.userId, profiles.userId))
    .where(eq(profiles.userId, userId))
  if (!row || !row.onboarded) throw new ApiError('onboarding_required', 'Finish onboarding first')
  if (row.hasRow) {
    return {
      exists: true,
      genders: row.genders!,
      minAge: row.minAge!,
      maxAge: row.maxAge!,
      maxDistanceKm: row.maxDistanceKm,
      filters: parseStoredFilters(row.filters),
    }
  }
  const ages = defaultAgeRange(ageOn(row.dateOfBirth!, s.clock.now()))
  return {
    exists: false,
    genders: row.seekingGenders?.length ? row.seekingGenders : [...genderValues],
    ...ages,
    maxDistanceKm: null,
    filters: {} as StoredFilters,
  }
}

/**
 * Every filter of the caller, lists spelled out ("any" = every value), Q&A filters included.
 *
 * @example
 * const { gender, age, distance, questions } = await getSearchFilters(s, caller.userId)
 */
export async function getSearchFilters(s: Services, userId: string): Promise<SearchFilters> {
  const [prefs, answerRows] = await Promise.all([
    loadPreferences(s, userId),
    s.database.db
      .select({
        questionId: searchAnswerFilters.questionId,
        text: questions.text,
        topic: questions.topic,
        answer: searchAnswerFilters.answer,
        acceptUnanswered: searchAnswerFilters.acceptUnanswered,
      })
      .from(searchAnswerFilters)
      .innerJoin(questions, eq(questions.id, searchAnswerFilters.questionId))
      .where(eq(searchAnswerFilters.userId, userId))
      .orderBy(asc(searchAnswerFilters.createdAt), asc(searchAnswerFilters.questionId)),
  ])
  const f = prefs.filters
  return {
    gender: prefs.genders,
    age: { min: prefs.minAge, max: prefs.maxAge },
    distance: prefs.maxDistanceKm,
    ...perList((k) => f[k] ?? [...listFilterValues[k], unanswered]),
    height: f.height ?? { min: null, max: null },
    hasPhoto: f.hasPhoto ?? false,
    messaged: f.messaged ?? 'show',
    skipped: f.skipped ?? 'hide',
    club: f.club ?? null,
    questions: answerRows,
  }
}

/**
 * Change one filter. Lists that name every value are stored as "any" (the key is removed), so
 * the search never tests a condition that cannot exclude anyone. A club must be one of mine.
 *
 * @example
 * await setSearchFilter(s, caller.userId, { smoking: ['no', 'unanswered'] })
 */
export async function setSearchFilter(
  s: Services,
  userId: string,
  patch: FilterPatch,
): Promise<SearchFilters> {
  const prefs = await loadPreferences(s, userId)
  const columns: Partial<typeof searchPreferences.$inferInsert> = {}
  const [key, value] = Object.entries(patch)[0] as [keyof FilterPatch, unknown]
  /** The JSON key's new value; undefined = back to "any" (the key is removed). */
  let stored: unknown
  if (key === 'gender') columns.genders = patch.gender
  else if (key === 'age') Object.assign(columns, { minAge: patch.age!.min, maxAge: patch.age!.max })
  else if (key === 'distance') columns.maxDistanceKm = patch.distance
  else if ((listFilters as string[]).includes(key)) {
    const all = listFilterValues[key as ListFilter].length + 1
    stored = (value as string[]).length >= all ? undefined : value
  } else if (key === 'height') {
    const h = patch.height!
    stored = h.min === null && h.max === null ? undefined : h
  } else if (key === 'club') {
    if (patch.club) {
      const [membership] = await s.database.db
        .select({ club: memberClubs.clubName })
        .from(memberClubs)
        .where(and(eq(memberClubs.userId, userId), eq(memberClubs.clubName, patch.club)))
      if (!membership) {
        throw new ApiError('validation_failed', 'You are not a member of that club', {
          errors: [{ path: 'json.club', message: 'Join the club first' }],
        })
      }
    }
    stored = patch.club ?? undefined
  } else {
    // hasPhoto, messaged, skipped: the defaults are stored as absent keys.
    const defaults: Record<string, unknown> = { hasPhoto: false, messaged: 'show', skipped: 'hide' }
    stored = value === defaults[key] ? undefined : value
  }
  const isJson = !['gender', 'age', 'distance'].includes(key)
  const now = s.clock.now()
  // One JSON key changes in place (`||` / `-`), so concurrent requests changing different
  // filters cannot undo each other.
  const filters = isJson
    ? stored === undefined
      ? sql`${searchPreferences.filters} - ${key}::text`
      : sql`${searchPreferences.filters} || ${JSON.stringify({ [key]: stored })}::jsonb`
    : undefined
  const { [key]: _replaced, ...kept } = prefs.filters as Record<string, unknown>
  await s.database.db
    .insert(searchPreferences)
    .values({
      userId,
      genders: prefs.genders,
      minAge: prefs.minAge,
      maxAge: prefs.maxAge,
      maxDistanceKm: prefs.maxDistanceKm,
      ...columns,
      filters: stored === undefined ? kept : { ...kept, [key]: stored },
      updatedAt: now,
    })
    .onConflictDoUpdate({
      target: searchPreferences.userId,
      set: { ...columns, ...(filters ? { filters } : {}), updatedAt: now },
    })
  return getSearchFilters(s, userId)
}

export const QuestionFilterSchema = z
  .object({
    id: z.number().int(),
    text: z.string(),
    topic: z.string(),
    filter: z
      .object({ answer: z.boolean(), acceptUnanswered: z.boolean() })
      .nullable()
      .openapi({ description: 'My filter on this question, if any' }),
  })
  .openapi('QuestionWithFilter')
export type QuestionFilter = z.infer<typeof QuestionFilterSchema>

/**
 * Questions to filter on, closest to `q` first (trigram word similarity on the lower-cased text), each
 * with my filter on it. Without `q`: the questions I filter on first, then the rest in id order.
 *
 * @example
 * const page = await searchFilterQuestions(s, caller.userId, 'pets', { page: 1, items_per_page: 10 })
 */
export async function searchFilterQuestions(
  s: Services,
  userId: string,
  q: string | undefined,
  request: PageRequest,
): Promise<Page<QuestionFilter>> {
  const { limit, offset } = pageWindow(request)
  const text = q?.trim().toLowerCase()
  const where = text
    ? sql`not ${questions.retired} and ${text} <% lower(${questions.text})`
    : sql`not ${questions.retired}`
  const order = text
    ? sql`${text} <<-> lower(${questions.text}), ${questions.id}`
    : sql`(${searchAnswerFilters.userId} is null), ${questions.id}`
  const db = s.database.db
  const [rows, [total]] = await db.batch([
    db
      .select({
        id: questions.id,
        text: questions.text,
        topic: questions.topic,
        answer: searchAnswerFilters.answer,
        acceptUnanswered: searchAnswerFilters.acceptUnanswered,
      })
      .from(questions)
      .leftJoin(
        searchAnswerFilters,
        and(eq(searchAnswerFilters.questionId, questions.id), eq(searchAnswerFilters.userId, userId)),
      )
      .where(where)
      .orderBy(order)
      .limit(limit)
      .offset(offset),
    db.select({ n: count() }).from(questions).where(where),
  ])
  return paginate(
    rows.map((r) => ({
      id: r.id,
      text: r.text,
      topic: r.topic,
      filter: r.answer === null ? null : { answer: r.answer, acceptUnanswered: r.acceptUnanswered! },
    })),
    total?.n ?? 0,
    request,
  )
}

export const AnswerFilterInputSchema = z
  .object({ answer: z.boolean(), acceptUnanswered: z.boolean().default(false) })
  .strict()
  .openapi('AnswerFilterInput')

/**
 * Add or change my filter on a question. A new filter beyond the {@link maxAnswerFilters}th is a
 * 409 `too_many_filters`; the count and the write share a transaction holding my preferences
 * row's lock, so concurrent requests cannot slip past the cap together.
 *
 * @example
 * await setAnswerFilter(s, caller.userId, 12, { answer: true, acceptUnanswered: false })
 */
export async function setAnswerFilter(
  s: Services,
  userId: string,
  questionId: number,
  input: z.infer<typeof AnswerFilterInputSchema>,
): Promise<z.infer<typeof AnswerFilterSchema>> {
  const [question] = await s.database.db
    .select({ id: questions.id, text: questions.text, topic: questions.topic })
    .from(questions)
    .where(and(eq(questions.id, questionId), eq(questions.retired, false)))
  if (!question) throw new ApiError('not_found', 'No such question')
  await s.database.transaction(async (tx) => {
    // Serialise this member's filter writes on their user row (always present).
    await tx.execute(sql`select 1 from users where id = ${userId} for update`)
    const [existing] = await tx
      .execute<{ total: number; mine: boolean }>(
        sql`select count(*)::int as total, bool_or(question_id = ${questionId}) as mine
          from search_answer_filters where user_id = ${userId}`,
      )
      .then((r) => r.rows)
    if (!existing?.mine && (existing?.total ?? 0) >= maxAnswerFilters) {
      throw new ApiError('too_many_filters', `At most ${maxAnswerFilters} question filters; remove one first`)
    }
    await tx
      .insert(searchAnswerFilters)
      .values({ userId, questionId, answer: input.answer, acceptUnanswered: input.acceptUnanswered })
      .onConflictDoUpdate({
        target: [searchAnswerFilters.userId, searchAnswerFilters.questionId],
        set: { answer: input.answer, acceptUnanswered: input.acceptUnanswered },
      })
  })
  return { questionId, text: question.text, topic: question.topic, ...input }
}

/**
 * Remove my filter on a question (404 when I had none).
 *
 * @example
 * await removeAnswerFilter(s, caller.userId, 12)
 */
export async function removeAnswerFilter(s: Services, userId: string, questionId: number): Promise<void> {
  const [removed] = await s.database.db
    .delete(searchAnswerFilters)
    .where(and(eq(searchAnswerFilters.userId, userId), eq(searchAnswerFilters.questionId, questionId)))
    .returning({ id: searchAnswerFilters.questionId })
  if (!removed) throw new ApiError('not_found', 'No filter on that question')
}
