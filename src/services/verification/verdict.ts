import { z } from 'zod'
import { verificationThresholds, type FailureReason } from './verification'
import { type Claims, samePersonKey, TransientUpstreamError } from './model'

const probability = z.number().min(0).max(1)
const AnswerSchema = z.object({
  image_1_is_photograph: probability,
  image_1_is_not_screenshot: probability,
  image_1_was_not_edited: probability,
  image_1_has_at_least_one_person: probability,
  image_1_has_exactly_one_person: probability,
  image_1_has_claimed_gender: probability,
  image_1_has_claimed_age: probability,
  image_1_has_claimed_minimum_age: probability,
  image_1_has_claimed_ethnicity: probability.optional(),
  image_1_has_smiling_person: probability,
  image_1_has_eyebrow_touch: probability,
  image_1_has_downward_thumb: probability,
})
type Answer = z.infer<typeof AnswerSchema>

export type Verdict =
  | { ok: true; verifiedPhotoIndexes: number[]; answer: Record<string, unknown> }
  | { ok: false; reason: FailureReason; answer: Record<string, unknown> }

/**
 * Parse the model's JSON and apply the thresholds, in a fixed order, so the member hears
 * about the first thing to fix. Throws when the answer is not the JSON asked for (a missing or
 * out-of-range probability, the ethnicity claim missing when one was made): that is transient.
 *
 * @example
 * judgeAnswer('{"image_1_is_photograph": 0.2, …}', { age: 30, gender: 'woman', ethnicity: null }, 0)
 * // { ok: false, reason: 'not-a-photo', … }
 */
export function judgeAnswer(content: string, claims: Claims, photoCount: number): Verdict {
  let raw: unknown
  try {
    raw = JSON.parse(content)
  } catch {
    throw new TransientUpstreamError('the model answered with malformed JSON')
  }
  const parsed = AnswerSchema.safeParse(raw)
  if (!parsed.success) {
    throw new TransientUpstreamError(`the model's JSON lacks claims: ${z.prettifyError(parsed.error)}`)
  }
  const a: Answer = parsed.data
  if (claims.ethnicity && a.image_1_has_claimed_ethnicity === undefined) {
    throw new TransientUpstreamError("the model's JSON lacks image_1_has_claimed_ethnicity")
  }
  const photoScores: number[] = []
  for (let i = 0; i < photoCount; i++) {
    const value = (raw as Record<string, unknown>)[samePersonKey(i)]
    // A photo the model said nothing about is simply not verified; a nonsense value is malformed.
    if (value === undefined || value === null) photoScores.push(0)
    else if (probability.safeParse(value).success) photoScores.push(value as number)
    else throw new TransientUpstreamError(`the model's ${samePersonKey(i)} is not a probability`)
  }
  const answer = raw as Record<string, unknown>
  const t = verificationThresholds
  const checks: [FailureReason, boolean][] = [
    ['not-a-photo', a.image_1_is_photograph >= t.photograph],
    ['screenshot', a.image_1_is_not_screenshot >= t.notScreenshot],
    ['edited', a.image_1_was_not_edited >= t.notEdited],
    ['no-person', a.image_1_has_at_least_one_person >= t.atLeastOnePerson],
    ['several-people', a.image_1_has_exactly_one_person >= t.exactlyOnePerson],
    ['gender', a.image_1_has_claimed_gender >= t.claimedGender],
    ['ethnicity', !claims.ethnicity || (a.image_1_has_claimed_ethnicity ?? 0) >= t.claimedEthnicity],
    ['age', a.image_1_has_claimed_age >= t.claimedAge],
    ['under-18', a.image_1_has_claimed_minimum_age >= t.adult],
    ['not-smiling', a.image_1_has_smiling_person >= t.smiling],
    ['no-eyebrow-touch', a.image_1_has_eyebrow_touch >= t.eyebrowTouch],
    ['no-thumbs-down', a.image_1_has_downward_thumb >= t.thumbsDown],
  ]
  const failed = checks.find(([, passed]) => !passed)
  if (failed) return { ok: false, reason: failed[0], answer }
  return {
    ok: true,
    verifiedPhotoIndexes: photoScores.flatMap((p, i) => (p >= t.samePersonInPhoto ? [i] : [])),
    answer,
  }
}
