import { z } from '@hono/zod-openapi'
import { desc, eq, sql } from 'drizzle-orm'
import { answers, questions, type UserStatus } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { ClubNameSchema, joinClub } from '../clubs/clubs'
import { answerQuestion } from '../personality/personality'
import type { Services } from '..'

/**
 * What a visitor did before having an account, carried through sign-in: answers to the public
 * quiz (`GET /api/v1/questions/public`) and a club to join (an invite link). Both ride on the
 * sign-in challenge (`POST /api/v1/auth/otp`) and are applied when the code is verified:
 * answers the member already has are never overwritten, unknown or retired
 * questions are ignored, and the club join is skipped (logged) when the quota or the name rules
 * refuse it. A member still onboarding has no profile to hold a personality yet, so theirs is
 * computed when onboarding finishes ({@link applyQuizAtOnboarding}).
 */

/**
 * At most 50 answers: the public quiz pages 50 questions at a time
 * and one page of a keen visitor's answers should survive sign-up whole.
 */
export const maxSignUpAnswers = 50

export const SignUpAnswersSchema = z
  .array(
    z
      .object({
        questionId: z.number().int().min(1).max(32767),
        answer: z.boolean().nullable().openapi({ description: 'null = skipped' }),
        public: z.boolean(),
      })
      .strict(),
  )
  .max(maxSignUpAnswers)
  .refine((list) => new Set(list.map((a) => a.questionId)).size === list.length, 'One answer per question')
  .openapi('SignUpAnswers', {
    description: `Public-quiz answers to keep on sign-up (at most ${maxSignUpAnswers})`,
  })
export type SignUpAnswers = z.infer<typeof SignUpAnswersSchema>

export const PendingClubSchema = ClubNameSchema.openapi({
  type: 'string',
  description: 'A club to join once signed in',
})

/** Recompute a member's personality through the answer service, by re-saving one answer as is. */
async function recomputePersonality(s: Services, userId: string, questionId?: number): Promise<void> {
  const [latest] = await s.database.db
    .select({ questionId: answers.questionId, answer: answers.answer, isPublic: answers.isPublic })
    .from(answers)
    .where(
      questionId === undefined
        ? eq(answers.userId, userId)
        : sql`${answers.userId} = ${userId} and ${answers.questionId} = ${questionId}`,
    )
    .orderBy(desc(answers.answeredAt))
    .limit(1)
  if (!latest) return
  await answerQuestion(s, userId, latest.questionId, { answer: latest.answer, public: latest.isPublic })
}

/**
 * Apply what a verified sign-in challenge carried: store the answers the member does not have
 * yet (one statement; unknown and retired questions dropped), recompute their personality if
 * they are past onboarding, and join the pending club. Never fails the sign-in.
 *
 * @example
 * await applySignUpExtras(s, { id, tierId, status }, { answers: challenge.answers, pendingClub: challenge.pendingClub })
 */
export async function applySignUpExtras(
  s: Services,
  user: { id: string; tierId: string | null; status: UserStatus },
  carried: { answers: unknown; pendingClub: string | null },
): Promise<void> {
  const parsed = SignUpAnswersSchema.safeParse(carried.answers)
  if (parsed.success && parsed.data.length > 0) {
    const rows = JSON.stringify(
      parsed.data.map((a) => ({ question_id: a.questionId, answer: a.answer, is_public: a.public })),
    )
    const now = s.clock.now()
    const inserted = await s.database.db.execute<{ question_id: number }>(sql`
      insert into ${answers} (user_id, question_id, answer, is_public, answered_at)
      select ${user.id}, a.question_id, a.answer, a.is_public, ${now}
      from jsonb_to_recordset(${rows}::jsonb) as a(question_id smallint, answer boolean, is_public boolean)
      join ${questions} q on q.id = a.question_id and not q.retired
      on conflict do nothing
      returning question_id`)
    const first = inserted.rows[0]
    if (first && user.status !== 'onboarding')
      await recomputePersonality(s, user.id, Number(first.question_id))
  }
  if (carried.pendingClub) {
    try {
      await joinClub(s, { userId: user.id, tierId: user.tierId }, carried.pendingClub)
    } catch (err) {
      if (!(err instanceof ApiError)) throw err
      s.log.info('sign_up.pending_club_refused', { userId: user.id, code: err.code })
    }
  }
}

/**
 * Compute the personality of a member who just finished onboarding from answers they brought
 * from the public quiz (nothing to do without any).
 *
 * @example
 * await applyQuizAtOnboarding(s, userId)
 */
export function applyQuizAtOnboarding(s: Services, userId: string): Promise<void> {
  return recomputePersonality(s, userId)
}
