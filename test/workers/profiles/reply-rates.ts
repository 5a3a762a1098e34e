import { describe, expect, it } from 'vitest'
import { messaged } from '../../../src/db/schema'
import { replyRates } from '../../../src/services/reply-rates/reply-rates'
import { account, call, member } from '../fixtures'
import { services } from '../helpers'

const s = services()
const db = s.database.db
const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000)

/**
 * `them` sends `sent` intros, `repliedTo` of which are answered; receives `received` intros and
 * answers `answered` of them.
 */
async function history(o: { sent: number; repliedTo: number; received: number; answered: number }) {
  const them = await member()
  const others = await Promise.all(Array.from({ length: o.sent + o.received }, () => account()))
  const rows: (typeof messaged.$inferInsert)[] = []
  others.slice(0, o.sent).forEach((other, i) => {
    rows.push({ subjectId: them.id, objectId: other.id, createdAt: minutesAgo(100) })
    if (i < o.repliedTo) rows.push({ subjectId: other.id, objectId: them.id, createdAt: minutesAgo(50) })
  })
  others.slice(o.sent).forEach((other, i) => {
    rows.push({ subjectId: other.id, objectId: them.id, createdAt: minutesAgo(100) })
    if (i < o.answered) rows.push({ subjectId: them.id, objectId: other.id, createdAt: minutesAgo(50) })
  })
  if (rows.length) await db.insert(messaged).values(rows)
  return them
}

describe('reply rates', () => {
  it('shows how often a member gets and gives replies, on their profile', async () => {
    const them = await history({ sent: 10, repliedTo: 3, received: 12, answered: 9 })
    const viewer = await member()
    const res = await call('GET', `/api/v1/profiles/${them.id}`, viewer.token)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { replyRates: unknown }
    expect(body.replyRates).toEqual({ getsReplyPercentage: 30, givesReplyPercentage: 75 })
  })

  it('stays hidden below ten intros each way', async () => {
    const them = await history({ sent: 9, repliedTo: 9, received: 10, answered: 0 })
    expect(await replyRates(s, them.id)).toEqual({ getsReplyPercentage: null, givesReplyPercentage: 0 })
  })

  it('counts only intros: a message to someone who wrote first is a reply, not an intro', async () => {
    const them = await history({ sent: 0, repliedTo: 0, received: 10, answered: 10 })
    // Their ten answers are not intros of theirs, so nothing is known about replies they get.
    expect(await replyRates(s, them.id)).toEqual({ getsReplyPercentage: null, givesReplyPercentage: 100 })
  })

  it('is cached: intros sent since the last computation change nothing for the hour', async () => {
    const them = await history({ sent: 10, repliedTo: 10, received: 0, answered: 0 })
    expect((await replyRates(s, them.id)).getsReplyPercentage).toBe(100)
    const extra = await Promise.all(Array.from({ length: 10 }, () => account()))
    await db.insert(messaged).values(extra.map((o) => ({ subjectId: them.id, objectId: o.id })))
    expect((await replyRates(s, them.id)).getsReplyPercentage).toBe(100)
  })

  it('ignores intros older than 90 days', async () => {
    const them = await member()
    const others = await Promise.all(Array.from({ length: 10 }, () => account()))
    const old = new Date(Date.now() - 91 * 24 * 3600 * 1000)
    await db
      .insert(messaged)
      .values(others.map((o) => ({ subjectId: them.id, objectId: o.id, createdAt: old })))
    expect(await replyRates(s, them.id)).toEqual({ getsReplyPercentage: null, givesReplyPercentage: null })
  })
})
