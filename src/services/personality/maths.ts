/**
 * The personality maths of docs/personality.md §5–6, pure so the Worker (services/personality/personality.ts)
 * and the migrate step (scripts/seed-personality.ts) compute identical vectors.
 */

/** Answers at which a vector reaches full length (250). */
export const fullWeightAnswers = 250

/**
 * Below this much evidence (presence + absence, in `effects` units) a trait is shown as unknown:
 * about three relevant answers (docs/personality.md §6).
 */
export const traitDisplayThreshold = 2.0

/** The constant extra dimension, so a vector with no lean can still be normalised. */
const constantDimension = 1e-5

/**
 * How far a vector from `n` yes/no answers may reach: `clip(ln(ln(n+1)+1) / ln(ln(251)+1), 0, 1)`.
 *
 * @example
 * personalityWeight(10) // ≈ 0.65
 */
export function personalityWeight(n: number): number {
  const w = Math.log(Math.log(n + 1) + 1) / Math.log(Math.log(fullWeightAnswers + 1) + 1)
  return Math.min(1, Math.max(0, w))
}

/**
 * The personality vector from per-trait presence/absence sums and the number of yes/no answers:
 * per trait `2·ratio − 1` (ratio 0.5 without evidence), a constant 1e-5 dimension appended,
 * L2-normalised, then scaled by {@link personalityWeight}. Length: traits + 1.
 *
 * @example
 * personalityVector([1, 0], [0, 0], 1) // [≈0.28, 0, ≈0.0000028]
 */
export function personalityVector(presence: number[], absence: number[], n: number): number[] {
  const v = presence.map((p, i) => {
    const total = p + (absence[i] ?? 0)
    return total > 0 ? (2 * p) / total - 1 : 0
  })
  v.push(constantDimension)
  const norm = Math.sqrt(v.reduce((sum, x) => sum + x * x, 0))
  const weight = personalityWeight(n)
  return v.map((x) => (x / norm) * weight)
}

/**
 * A trait as a percentage toward its max pole, or null while there is too little evidence
 * ({@link traitDisplayThreshold}).
 *
 * @example
 * traitPercentage(3, 1) // 75
 * traitPercentage(1, 0) // null
 */
export function traitPercentage(presence: number, absence: number): number | null {
  const total = presence + absence
  if (!(total >= traitDisplayThreshold)) return null
  return Math.round((100 * presence) / total)
}

/**
 * Match % between two personality vectors: `clamp(0, 99, round(100·(1 + a·b)/2))`; null when
 * either member has no vector yet.
 *
 * @example
 * matchPercentage(v, v) // 99 for a full-length v
 */
export function matchPercentage(
  a: readonly number[] | null | undefined,
  b: readonly number[] | null | undefined,
): number | null {
  if (!a || !b || a.length === 0 || a.length !== b.length) return null
  const dot = a.reduce((sum, x, i) => sum + x * b[i]!, 0)
  return Math.min(99, Math.max(0, Math.round((100 * (1 + dot)) / 2)))
}

/**
 * Per member and trait position (1-based), the presence and absence sums over the member's yes/no
 * answers, as SQL split around the member-id array it filters on (`a.user_id = any(<uuid[]>)`), so
 * the Worker (drizzle) and the migrate step (pg) run the same query. Each answer contributes its
 * side's arrays minus their element-wise minimum (a no-op for this bank).
 * Rows: `user_id, pos, presence, absence`, ordered by member and position.
 */
export const answerSumsSql = {
  head: `select a.user_id, x.pos::int as pos,
      sum(greatest(x.p - x.a, 0))::float8 as presence, sum(greatest(x.a - x.p, 0))::float8 as absence
    from answers a
    join questions q on q.id = a.question_id
    cross join lateral unnest(
      case when a.answer then q.presence_given_yes else q.presence_given_no end,
      case when a.answer then q.absence_given_yes else q.absence_given_no end
    ) with ordinality as x(p, a, pos)
    where a.answer is not null and a.user_id = any(`,
  tail: `)
    group by a.user_id, x.pos
    order by a.user_id, x.pos`,
}
