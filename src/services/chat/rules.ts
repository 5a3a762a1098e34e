import { containsLink } from '../moderation/text-rules'
import type { IntroLimitSubreason } from './protocol'

/**
 * The chat rules that need no database: what a message may contain, how many new people a
 * member may write to per day, when an intro with a link is spam, and what counts as one emoji.
 * The Conversation Durable Object applies them with the pair's facts (src/services/chat/send.ts)
 * in this order: blocked → too long → spam → daily intro limit → intro uniqueness.
 */

/** Longest message body, in characters (code points, as Postgres' `char_length` counts them). */
export const maxBodyChars = 5_000
export const maxClientIdChars = 128

export type VerificationLevel = 'none' | 'basics' | 'photos'

/** Levels 1–3, which the intro formulas square. */
const levelNumber: Record<VerificationLevel, number> = { none: 1, basics: 2, photos: 3 }

/** New people per 24 h by verification level (more verification, more new people). */
export const dailyIntroLimits: Record<VerificationLevel, number> = { none: 15, basics: 30, photos: 60 }

/**
 * Today's intro limit: the level's base, halved once per report against the sender in the last
 * seven days (reports by bots do not count). Never below zero.
 *
 * @example
 * dailyIntroLimit('basics', 0) // 30
 * dailyIntroLimit('basics', 2) // 7
 */
export function dailyIntroLimit(level: VerificationLevel, reports: number): number {
  return Math.floor(dailyIntroLimits[level] / 2 ** Math.min(Math.max(reports, 0), 30))
}

/** What to tell a member at the limit: verifying more raises it; at the top level only time does. */
export function introLimitSubreason(level: VerificationLevel): IntroLimitSubreason {
  return level === 'none' ? 'verify-basics' : level === 'basics' ? 'verify-photos' : 'wait'
}

/**
 * Accounts younger than one day / level² (24 h unverified, 6 h with the basics, 2 h 40 min with
 * photos) may not put links in intros: a fresh account pasting a URL to strangers is the
 * commonest spam.
 *
 * @example
 * mayLinkInIntros('none', new Date(Date.now() - 3_600_000), new Date()) // false
 */
export function mayLinkInIntros(level: VerificationLevel, accountCreatedAt: Date, now: Date): boolean {
  const n = levelNumber[level]
  return now.getTime() - accountCreatedAt.getTime() >= 86_400_000 / (n * n)
}

/** Whether an intro from this account is spam under the link rule. */
export function isSpamIntro(body: string, level: VerificationLevel, createdAt: Date, now: Date): boolean {
  return !mayLinkInIntros(level, createdAt, now) && containsLink(body)
}

/**
 * The uniqueness key of an intro: lower-cased, everything but letters and digits removed, runs of
 * one character collapsed ("Heyyy!!" and "hey" are the same opener), SHA-256 in hex. Only the
 * hash is stored. Text with no letters or digits at all hashes the empty string, so a second
 * emoji-only opener is not unique either.
 *
 * @example
 * await introHash('Heyyy there!!') === await introHash('hey  THERE') // true
 */
export async function introHash(body: string): Promise<string> {
  const key = body
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '')
    .replace(/(.)\1+/gu, '$1')
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key))
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' })
const emojiLike = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u

/**
 * A reaction: exactly one emoji grapheme (skin tones, ZWJ families, flags and keycaps included),
 * at most 16 code units, or '' to clear.
 *
 * @example
 * isReactionEmoji('👍🏽') // true
 * isReactionEmoji('ok') // false
 */
export function isReactionEmoji(value: string): boolean {
  if (value === '') return true
  if (value.length > 16) return false
  const graphemes = [...segmenter.segment(value)]
  return graphemes.length === 1 && emojiLike.test(value)
}

/** Whether a body is within {@link maxBodyChars} code points. */
export function isBodyTooLong(body: string): boolean {
  if (body.length <= maxBodyChars) return false
  let n = 0
  for (const _ of body) if (++n > maxBodyChars) return true
  return false
}

/**
 * A token bucket per sender: `burst` messages at once, refilled at `perSecond`. It stops a
 * client (or a script) flooding a conversation faster than anyone reads; people typing never
 * meet it, and a client flushing the outbox it kept while offline has a burst of 100. Held in the Conversation object's memory, so it resets when the object is evicted,
 * which only makes it more lenient.
 *
 * @example
 * const throttle = new SendThrottle()
 * throttle.take(memberId, Date.now()) // 0: allowed; otherwise milliseconds to wait
 */
export class SendThrottle {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(
    private readonly burst = 100,
    private readonly perSecond = 10,
  ) {}

  take(senderId: string, now: number): number {
    const bucket = this.buckets.get(senderId) ?? { tokens: this.burst, at: now }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond)
    bucket.at = now
    this.buckets.set(senderId, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return Math.ceil(((1 - bucket.tokens) / this.perSecond) * 1000)
  }
}
