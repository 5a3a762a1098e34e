import { z } from '@hono/zod-openapi'
import { describeError } from '../../lib/log'
import { cached } from '../platform/cache'
import type { Services } from '..'

/**
 * Reply rates on a profile: how often the member's intros get a reply (`gets`) and how often
 * the member replies to intros they receive (`gives`). An intro is a first message to someone
 * who had not written first; it counts as answered when the other person wrote back at any time
 * after it. Computed over the last {@link windowDays} days and at most {@link maxIntros} intros
 * each way, within {@link budgetMs} (else unknown), cached {@link ttlSeconds}, and shown only from
 * {@link minSample} intros up (a rate over two intros says nothing).
 */

export const windowDays = 90
export const maxIntros = 500
export const minSample = 10
export const budgetMs = 1000
export const ttlSeconds = 3600

export const ReplyRatesSchema = z
  .object({
    getsReplyPercentage: z
      .number()
      .int()
      .min(0)
      .max(100)
      .nullable()
      .openapi({
        description: `% of this member's intros that got a reply; null below ${minSample} intros or when unknown`,
      }),
    givesReplyPercentage: z
      .number()
      .int()
      .min(0)
      .max(100)
      .nullable()
      .openapi({
        description: `% of intros to this member that they answered; null below ${minSample} intros or when unknown`,
      }),
  })
  .openapi('ReplyRates')
export type ReplyRates = z.infer<typeof ReplyRatesSchema>

const statement = `with sent as (
    select exists (select 1 from messaged r where r.subject_id = m.object_id and r.object_id = m.subject_id
      and r.created_at >= m.created_at) as replied
    from messaged m
    where m.subject_id = $1 and m.created_at > now() - make_interval(days => $2)
      and not exists (select 1 from messaged f where f.subject_id = m.object_id and f.object_id = m.subject_id
        and f.created_at < m.created_at)
    order by m.created_at desc limit $3
  ), received as (
    select exists (select 1 from messaged r where r.subject_id = m.object_id and r.object_id = m.subject_id
      and r.created_at >= m.created_at) as replied
    from messaged m
    where m.object_id = $1 and m.created_at > now() - make_interval(days => $2)
      and not exists (select 1 from messaged f where f.subject_id = m.object_id and f.object_id = m.subject_id
        and f.created_at < m.created_at)
    order by m.created_at desc limit $3
  )
  select (select count(*)::int from sent) as sent,
    (select count(*)::int from sent where replied) as sent_replied,
    (select count(*)::int from received) as received,
    (select count(*)::int from received where replied) as received_replied`

const percent = (part: number, whole: number) =>
  whole >= minSample ? Math.round((100 * part) / whole) : null

/**
 * The member's reply rates (cached); both null when they cannot be computed in time.
 *
 * `computeIf`, when given, must settle before a miss is computed: the cache read can then start
 * before the caller knows whether the rates may be shown (a profile view reads them alongside the
 * profile), while the statement itself runs only for a member the caller settled `true` — nobody
 * can make the server compute rates for profiles they may not see. On `false` the answer is both
 * null, and nothing is cached.
 *
 * @example
 * const { getsReplyPercentage } = await replyRates(s, memberId)
 */
export async function replyRates(
  s: Services,
  userId: string,
  computeIf?: Promise<boolean>,
): Promise<ReplyRates> {
  try {
    return await cached(s, { key: `reply-rates:${userId}`, ttlSeconds }, async () => {
      if (computeIf && !(await computeIf)) throw notShown
      const rows = (await s.database.db.$client.query(statement, [userId, windowDays, maxIntros], {
        fetchOptions: { signal: AbortSignal.timeout(budgetMs) },
      })) as { sent: number; sent_replied: number; received: number; received_replied: number }[]
      const r = rows[0]!
      return {
        getsReplyPercentage: percent(Number(r.sent_replied), Number(r.sent)),
        givesReplyPercentage: percent(Number(r.received_replied), Number(r.received)),
      }
    })
  } catch (err) {
    // A timeout or failure is not cached: the next view tries again.
    if (err !== notShown) s.log.warn('reply_rates.unavailable', { userId, error: describeError(err) })
    return { getsReplyPercentage: null, givesReplyPercentage: null }
  }
}

/** Thrown by the loader when its caller settled `computeIf` false: not a failure, nothing to log or cache. */
const notShown = new Error('reply rates not shown')
