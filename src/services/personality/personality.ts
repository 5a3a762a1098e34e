import { z } from '@hono/zod-openapi'
import { and, asc, eq, sql } from 'drizzle-orm'
import { answers, profiles, questions, traits } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { type Page, type PageRequest, paginate, pageWindow } from '../../lib/http/pagination'
import { answerSumsSql, matchPercentage, personalityVector, traitPercentage } from './maths'
import { visibleProfileRow } from '../profiles/profiles'
import type { Services } from '..'

/**
 * Personality questions, answers and matching (docs/personality.md). Answers update the member's
 * presence/absence sums and personality vector on `profiles` in the same transaction;
 * `questions.count_yes/count_no` follow the answers table through a trigger (migration 0008).
 */

/** Ids 1..fixedFirstQuestions come first, in id order (docs/personality.md §3). */
export const fixedFirstQuestions = 10

export const questionTopicValues = ['values', 'sex', 'interpersonal', 'other'] as const
export const traitTopicValues = ['big-five', 'attachment', 'values', 'lifestyle', 'interpersonal'] as const
export const agreementValues = ['all', 'agree', 'disagree', 'unanswered'] as const

export const QuestionSchema = z
  .object({
    id: z.number().int().openapi({ example: 1 }),
    text: z.string().openapi({ example: 'Would you rather spend Friday night at home than out?' }),
    topic: z.enum(questionTopicValues),
  })
  .openapi('Question')
export type QuestionView = z.infer<typeof QuestionSchema>

const traitFields = {
  key: z.string().openapi({ example: 'extraversion' }),
  name: z.string().openapi({ example: 'Extraversion' }),
  minLabel: z.string().openapi({ example: 'Introverted' }),
  maxLabel: z.string().openapi({ example: 'Extraverted' }),
  description: z.string(),
  topic: z.enum(traitTopicValues),
}
const percentage = z
  .number()
  .int()
  .min(0)
  .max(100)
  .nullable()
  .openapi({ description: '% toward `maxLabel`; null until there is enough evidence (about three answers)' })

export const TraitSchema = z.object({ ...traitFields, percentage }).openapi('Trait')
export type TraitView = z.infer<typeof TraitSchema>

export const AnswerResultSchema = z
  .object({
    questionId: z.number().int(),
    answer: z.boolean().nullable().openapi({ description: 'null = skipped' }),
    public: z.boolean(),
    answeredAt: z.string().openapi({ format: 'date-time' }),
    answerCount: z.number().int().openapi({ description: 'My yes/no answers (skips not counted)' }),
    personality: z.array(TraitSchema),
  })
  .openapi('AnswerResult')

export const MyPersonalitySchema = z
  .object({ answerCount: z.number().int(), personality: z.array(TraitSchema) })
  .openapi('MyPersonality')

export const PersonalityComparisonSchema = z
  .object({
    matchPercentage: z
      .number()
      .int()
      .min(0)
      .max(99)
      .nullable()
      .openapi({ description: 'null until both members have answered' }),
    traits: z.array(
      z.object({ ...traitFields, mine: percentage, theirs: percentage }).openapi('TraitComparison'),
    ),
  })
  .openapi('PersonalityComparison')

export const AnswerComparisonSchema = z
  .object({
    question: QuestionSchema,
    mine: z.boolean().nullable().openapi({ description: 'My answer; null = not answered (or skipped)' }),
    theirs: z
      .boolean()
      .nullable()
      .openapi({ description: 'Their public answer; null = not answered, skipped or private' }),
  })
  .openapi('AnswerComparison')
export type AnswerComparison = z.infer<typeof AnswerComparisonSchema>

type Tx = Parameters<Parameters<Services['database']['transaction']>[0]>[0]

const questionColumns = { id: questions.id, text: questions.text, topic: questions.topic }

function questionView(q: { id: number; text: string; topic: string }): QuestionView {
  return { id: q.id, text: q.text, topic: q.topic as QuestionView['topic'] }
}

/** Trait rows in vector order, optionally of one topic. */
async function traitRows(s: Services, topic?: (typeof traitTopicValues)[number]) {
  return s.database.db
    .select()
    .from(traits)
    .where(topic ? eq(traits.topic, topic) : undefined)
    .orderBy(asc(traits.position))
}

function traitFieldsOf(t: typeof traits.$inferSelect) {
  return {
    key: t.key,
    name: t.name,
    minLabel: t.minLabel,
    maxLabel: t.maxLabel,
    description: t.description,
    topic: t.topic as TraitView['topic'],
  }
}

type Scores = { presenceScore: number[] | null; absenceScore: number[] | null }

function percentageAt(scores: Scores, position: number): number | null {
  if (!scores.presenceScore || !scores.absenceScore) return null
  return traitPercentage(scores.presenceScore[position] ?? 0, scores.absenceScore[position] ?? 0)
}

async function personalityOf(s: Services, scores: Scores): Promise<TraitView[]> {
  return (await traitRows(s)).map((t) => ({
    ...traitFieldsOf(t),
    percentage: percentageAt(scores, t.position),
  }))
}

/**
 * Lock the member's profile row for the rest of `tx`: two answers sent at once would otherwise
 * each recompute from a snapshot without the other's, and the later write would lose one.
 */
async function lockProfile(tx: Tx, userId: string): Promise<void> {
  await tx.select({ userId: profiles.userId }).from(profiles).where(eq(profiles.userId, userId)).for('update')
}

/**
 * Recompute a member's sums, answer count and vector from their answers, inside `tx` (which
 * holds their profile lock). Summing afresh rather than adding the one changed answer keeps
 * float4 rounding from drifting over many changes.
 */
async function recompute(tx: Tx, userId: string): Promise<Scores & { answerCount: number }> {
  const sums = await tx.execute<{ pos: number; presence: number; absence: number }>(
    sql`${sql.raw(answerSumsSql.head)}array[${userId}]::uuid[]${sql.raw(answerSumsSql.tail)}`,
  )
  const [{ n } = { n: 0 }] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(answers)
    .where(and(eq(answers.userId, userId), sql`${answers.answer} is not null`))
  let values: { personality: number[] | null; presenceScore: number[] | null; absenceScore: number[] | null }
  if (n === 0) {
    values = { personality: null, presenceScore: null, absenceScore: null }
  } else {
    const presence: number[] = []
    const absence: number[] = []
    for (const row of sums.rows) {
      presence[Number(row.pos) - 1] = Number(row.presence)
      absence[Number(row.pos) - 1] = Number(row.absence)
    }
    values = {
      presenceScore: presence,
      absenceScore: absence,
      personality: personalityVector(presence, absence, n),
    }
  }
  await tx
    .update(profiles)
    .set({ ...values, answerCount: n })
    .where(eq(profiles.userId, userId))
  return { presenceScore: values.presenceScore, absenceScore: values.absenceScore, answerCount: n }
}

/**
 * Answer (or change the answer to) a question: `answer` null skips it (it is not offered again
 * and does not count). Recomputes the member's personality in the same transaction and returns
 * the answer with the updated trait summary. Unknown and retired questions are 404.
 *
 * @example
 * await answerQuestion(s, caller.userId, 12, { answer: true, public: false })
 */
export async function answerQuestion(
  s: Services,
  userId: string,
  questionId: number,
  input: { answer: boolean | null; public: boolean },
): Promise<z.infer<typeof AnswerResultSchema>> {
  const now = s.clock.now()
  const result = await s.database.transaction(async (tx) => {
    const [question] = await tx
      .select({ id: questions.id })
      .from(questions)
      .where(and(eq(questions.id, questionId), eq(questions.retired, false)))
    if (!question) return null
    await lockProfile(tx, userId)
    const [row] = await tx
      .insert(answers)
      .values({ userId, questionId, answer: input.answer, isPublic: input.public, answeredAt: now })
      .onConflictDoUpdate({
        target: [answers.userId, answers.questionId],
        set: { answer: input.answer, isPublic: input.public, answeredAt: now },
      })
      .returning()
    return { row: row!, scores: await recompute(tx, userId) }
  })
  if (!result) throw new ApiError('not_found', 'No such question')
  return {
    questionId,
    answer: result.row.answer,
    public: result.row.isPublic,
    answeredAt: result.row.answeredAt.toISOString(),
    answerCount: result.scores.answerCount,
    personality: await personalityOf(s, result.scores),
  }
}

/**
 * Remove my answer to a question (it will be offered again) and recompute my personality; 404
 * when I have no answer to it.
 *
 * @example
 * const { personality } = await removeAnswer(s, caller.userId, 12)
 */
export async function removeAnswer(
  s: Services,
  userId: string,
  questionId: number,
): Promise<z.infer<typeof MyPersonalitySchema>> {
  const scores = await s.database.transaction(async (tx) => {
    await lockProfile(tx, userId)
    const removed = await tx
      .delete(answers)
      .where(and(eq(answers.userId, userId), eq(answers.questionId, questionId)))
      .returning({ questionId: answers.questionId })
    if (removed.length === 0) return null
    return recompute(tx, userId)
  })
  if (!scores) throw new ApiError('not_found', 'You have not answered that question')
  return { answerCount: scores.answerCount, personality: await personalityOf(s, scores) }
}

/**
 * Questions I have not answered (nor skipped), never retired ones: ids 1–10 first in id order,
 * then the rest in a shuffle that is stable for me and different for everyone
 * (`md5(id ‖ user id)`, a stable per-member order), so paging never repeats or skips a question.
 *
 * @example
 * const page = await nextQuestions(s, caller.userId, { page: 1, items_per_page: 10 })
 */
export async function nextQuestions(
  s: Services,
  userId: string,
  request: PageRequest,
): Promise<Page<QuestionView>> {
  const { limit, offset } = pageWindow(request)
  const rows = await s.database.db
    .select({ ...questionColumns, total: sql<number>`count(*) over ()::int` })
    .from(questions)
    .where(
      and(
        eq(questions.retired, false),
        sql`not exists (select 1 from ${answers} where ${answers.userId} = ${userId} and ${answers.questionId} = ${questions.id})`,
      ),
    )
    .orderBy(
      sql`${questions.id} > ${fixedFirstQuestions}`,
      sql`case when ${questions.id} <= ${fixedFirstQuestions} then ${questions.id} end`,
      sql`md5(${questions.id}::text || ${userId}::text)`,
      asc(questions.id),
    )
    .limit(limit)
    .offset(offset)
  return paginate(rows.map(questionView), rows[0]?.total ?? (await countNext(s, userId)), request)
}

/** The total when the requested page is past the end (no row carried it). */
async function countNext(s: Services, userId: string): Promise<number> {
  const [row] = await s.database.db
    .select({ n: sql<number>`count(*)::int` })
    .from(questions)
    .where(
      and(
        eq(questions.retired, false),
        sql`not exists (select 1 from ${answers} where ${answers.userId} = ${userId} and ${answers.questionId} = ${questions.id})`,
      ),
    )
  return row?.n ?? 0
}

/**
 * The anonymous pre-signup quiz: every offered question in id order (the same for everyone).
 *
 * @example
 * const page = await publicQuestions(s, { page: 1, items_per_page: 10 })
 */
export async function publicQuestions(s: Services, request: PageRequest): Promise<Page<QuestionView>> {
  const { limit, offset } = pageWindow(request)
  const [rows, [count]] = await Promise.all([
    s.database.db
      .select(questionColumns)
      .from(questions)
      .where(eq(questions.retired, false))
      .orderBy(asc(questions.id))
      .limit(limit)
      .offset(offset),
    s.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(questions)
      .where(eq(questions.retired, false)),
  ])
  return paginate(rows.map(questionView), count?.n ?? 0, request)
}

async function scoresOf(s: Services, userId: string) {
  const [row] = await s.database.db
    .select({
      presenceScore: profiles.presenceScore,
      absenceScore: profiles.absenceScore,
      personality: profiles.personality,
      answerCount: profiles.answerCount,
    })
    .from(profiles)
    .where(eq(profiles.userId, userId))
  return row ?? { presenceScore: null, absenceScore: null, personality: null, answerCount: 0 }
}

/**
 * My traits as percentages toward each max label (null while a trait has too little evidence).
 *
 * @example
 * const { personality } = await myPersonality(s, caller.userId)
 */
export async function myPersonality(
  s: Services,
  userId: string,
): Promise<z.infer<typeof MyPersonalitySchema>> {
  const scores = await scoresOf(s, userId)
  return { answerCount: scores.answerCount, personality: await personalityOf(s, scores) }
}

/**
 * My traits next to another member's (optionally one trait topic) and our match %. The other
 * member must be visible to me as on their profile page (404/403 otherwise).
 *
 * @example
 * const cmp = await comparePersonalities(s, caller.userId, 'alex-7', 'values')
 */
export async function comparePersonalities(
  s: Services,
  viewerId: string,
  idOrSlug: string,
  topic?: (typeof traitTopicValues)[number],
): Promise<z.infer<typeof PersonalityComparisonSchema>> {
  const other = await visibleProfileRow(s, { userId: viewerId }, idOrSlug)
  const [mine, theirs, rows] = await Promise.all([
    scoresOf(s, viewerId),
    scoresOf(s, other.profile.userId),
    traitRows(s, topic),
  ])
  return {
    matchPercentage: matchPercentage(mine.personality, theirs.personality),
    traits: rows.map((t) => ({
      ...traitFieldsOf(t),
      mine: percentageAt(mine, t.position),
      theirs: percentageAt(theirs, t.position),
    })),
  }
}

/**
 * My answers next to another member's, for every question either of us answered (yes/no), in id
 * order. Only their public answers are shown: a private answer is reported, filtered and counted
 * exactly like no answer. `agreement`: agree / disagree (both answered, same / different),
 * unanswered (only one of us answered). The other member must be visible to me (404/403).
 *
 * @example
 * const page = await compareAnswers(s, caller.userId, 'alex-7', { agreement: 'disagree', topic: 'values' }, { page: 1, items_per_page: 10 })
 */
export async function compareAnswers(
  s: Services,
  viewerId: string,
  idOrSlug: string,
  filter: {
    agreement: (typeof agreementValues)[number]
    topic: 'all' | (typeof questionTopicValues)[number]
  },
  request: PageRequest,
): Promise<Page<AnswerComparison>> {
  const other = await visibleProfileRow(s, { userId: viewerId }, idOrSlug)
  const theirId = other.profile.userId
  const { limit, offset } = pageWindow(request)
  const mine = sql`(select ${answers.answer} from ${answers} where ${answers.userId} = ${viewerId} and ${answers.questionId} = ${questions.id})`
  // Their private answers never leave the database: the filter and the column see only public ones.
  const theirs = sql`(select ${answers.answer} from ${answers} where ${answers.userId} = ${theirId} and ${answers.questionId} = ${questions.id} and ${answers.isPublic})`
  const agreement = {
    all: sql`(${mine} is not null or ${theirs} is not null)`,
    agree: sql`${mine} = ${theirs}`,
    disagree: sql`${mine} <> ${theirs}`,
    unanswered: sql`((${mine} is null) <> (${theirs} is null))`,
  }[filter.agreement]
  const rows = await s.database.db
    .select({
      ...questionColumns,
      mine: sql<boolean | null>`${mine}`,
      theirs: sql<boolean | null>`${theirs}`,
      total: sql<number>`count(*) over ()::int`,
    })
    .from(questions)
    .where(
      and(
        filter.topic === 'all' ? undefined : eq(questions.topic, filter.topic),
        // Only questions one of us answered at all can qualify; this keeps the scan to our answers.
        sql`${questions.id} in (select ${answers.questionId} from ${answers} where ${answers.userId} in (${viewerId}, ${theirId}))`,
        agreement,
      ),
    )
    .orderBy(asc(questions.id))
    .limit(limit)
    .offset(offset)
  let total = rows[0]?.total
  if (total === undefined) {
    // Past the last page: count without paging.
    const [count] = await s.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(questions)
      .where(
        and(
          filter.topic === 'all' ? undefined : eq(questions.topic, filter.topic),
          sql`${questions.id} in (select ${answers.questionId} from ${answers} where ${answers.userId} in (${viewerId}, ${theirId}))`,
          agreement,
        ),
      )
    total = count?.n ?? 0
  }
  return paginate(
    rows.map((r) => ({ question: questionView(r), mine: r.mine, theirs: r.theirs })),
    total,
    request,
  )
}
