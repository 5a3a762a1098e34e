import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  feedEvents,
  memberClubs,
  clubs,
  messaged,
  photos,
  profiles,
  searchPreferences,
  skips,
  tiers,
  type users,
  voiceBios,
} from '../../../src/db/schema'
import { parseFeedCursor } from '../../../src/services/feed/feed'
import { type FeedCursor, feedQuery } from '../../../src/services/feed/feed-query'
import { account, call, member } from '../fixtures'
import { politeTag, problem, services, tierWithRules } from '../helpers'

const s = services()
const db = s.database.db
const tag = () => crypto.randomUUID().replaceAll('-', '').slice(0, 10)
const hex64 = () => (crypto.randomUUID() + crypto.randomUUID()).replaceAll('-', '')
const minute = 60_000
const day = 24 * 3600 * 1000

/**
 * Every test reads the feed before its own instant, hours apart and in the past, and puts its
 * members' activity in the hour before it: members of earlier tests are newer than the cursor,
 * members of other files are "now", so a test sees only its own members (plus older ones, which
 * its assertions ignore by filtering on its own ids).
 */
let slot = 0
function timeWindow() {
  slot++
  const end = new Date(Date.now() - slot * 3 * 3600_000)
  return {
    before: end.toISOString(),
    at: (minutesBefore: number) => new Date(end.getTime() - minutesBefore * minute),
  }
}

type Gender = NonNullable<(typeof profiles.$inferInsert)['gender']>
const yearsAgo = (years: number) => {
  const d = new Date()
  d.setUTCFullYear(d.getUTCFullYear() - years)
  d.setUTCMonth(d.getUTCMonth() - 1)
  return d.toISOString().slice(0, 10)
}
const unit = Array.from({ length: 25 }, () => 0.2)

interface PersonOpts {
  at?: Date
  onlineAt?: Date
  gender?: Gender
  seeking?: Gender[]
  age?: number
  profile?: Partial<typeof profiles.$inferInsert>
  user?: Partial<typeof users.$inferInsert>
  filters?: Record<string, unknown>
  name?: string
}

/**
 * An onboarded member (default: a 30-year-old man seeking women, a member for two months, so he
 * "seems human"), last active at `at`, last online 40 days ago unless `onlineAt`.
 */
async function person(o: PersonOpts = {}) {
  const m = await member({
    name: o.name ?? 'Robin',
    user: { lastOnlineAt: o.onlineAt ?? new Date(Date.now() - 40 * day), ...o.user },
    profile: {
      gender: o.gender ?? 'man',
      dateOfBirth: yearsAgo(o.age ?? 30),
      seekingGenders: o.seeking ?? ['woman'],
      personality: unit,
      onboardedAt: new Date(Date.now() - 60 * day),
      lastEventAt: o.at ?? new Date(Date.now() - 40 * day),
      ...o.profile,
    },
  })
  await db.insert(searchPreferences).values({
    userId: m.id,
    genders: o.seeking ?? ['woman'],
    minAge: 18,
    maxAge: 99,
    filters: o.filters ?? {},
  })
  return m
}
/** The viewer most tests use: a 30-year-old woman seeking men. */
const viewer = (o: PersonOpts = {}) => person({ gender: 'woman', seeking: ['man'], name: 'Vera', ...o })

interface Item {
  id: string
  urlSlug: string | null
  name: string | null
  age: number | null
  place: string | null
  photo: { url: string; blurhash: string } | null
  matchPercentage: number
  verificationLevel: string
  flair: string[]
  event: {
    kind: string
    at: string
    photo: { url: string; blurhash: string } | null
    addedText: string | null
  }
}
interface Page {
  data: Item[]
  nextBefore: string | null
}

async function feed(token: string, before?: string): Promise<Page> {
  const res = await call('GET', `/api/v1/feed${before ? `?before=${encodeURIComponent(before)}` : ''}`, token)
  expect(res.status).toBe(200)
  return (await res.json()) as Page
}
/** Which of `members` the viewer's feed (before the window's end) shows. */
async function shown(token: string, before: string, members: { id: string }[]) {
  const ids = new Set((await feed(token, before)).data.map((i) => i.id))
  return members.map((m) => ids.has(m.id))
}

async function addPhoto(userId: string, position = 1, isGif = false) {
  const id = hex64()
  await db.insert(photos).values({
    id,
    userId,
    position,
    blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
    width: 900,
    height: 900,
    isGif,
    contentHash: hex64(),
  })
  return id
}
async function addVoiceBio(userId: string) {
  const id = hex64()
  await db.insert(voiceBios).values({
    userId,
    id,
    objectKey: `${id}.aac`,
    contentType: 'audio/aac',
    codec: 'aac',
    durationMs: 5000,
    bytes: 1000,
  })
  return id
}
/** Move a member's latest event (and feed time) to `at`. */
async function eventAt(userId: string, at: Date) {
  await db.execute(sql`update feed_events set at = ${at.toISOString()}::timestamptz
    where id = (select last_event_id from profiles where user_id = ${userId})`)
  await db.update(profiles).set({ lastEventAt: at }).where(eq(profiles.userId, userId))
}

describe('feed items', () => {
  it('carries name, age, place, first photo, match, flair and each kind of event', async () => {
    const w = timeWindow()
    const me = await viewer()
    const joined = await person({ at: w.at(50), name: 'Jo' })
    const withPhoto = await person({ at: w.at(60), name: 'Pat' })
    const photoId = await addPhoto(withPhoto.id)
    await eventAt(withPhoto.id, w.at(40))
    const voice = await person({ at: w.at(60), name: 'Vic' })
    await addVoiceBio(voice.id)
    await eventAt(voice.id, w.at(30))
    const bio = await person({ at: w.at(60), name: 'Bo' })
    await db
      .insert(feedEvents)
      .values({ userId: bio.id, kind: 'updated-bio', at: w.at(20), addedText: 'I sail' })
    const online = await person({ at: w.at(60), onlineAt: w.at(10), name: 'On' })

    const page = await feed(me.token, w.before)
    const mine = page.data.filter((i) => [joined, withPhoto, voice, bio, online].some((m) => m.id === i.id))
    expect(mine.map((i) => [i.name, i.event.kind])).toEqual([
      ['On', 'recently-online'],
      ['Bo', 'updated-bio'],
      ['Vic', 'added-voice-bio'],
      ['Pat', 'added-photo'],
      ['Jo', 'joined'],
    ])
    const pat = mine.find((i) => i.id === withPhoto.id)!
    expect(pat).toMatchObject({
      urlSlug: withPhoto.profile.urlSlug,
      age: 30,
      place: withPhoto.place.shortLabel,
      matchPercentage: 99,
      verificationLevel: 'none',
      flair: ['one-month'],
    })
    expect(pat.photo?.url).toContain(`450-${photoId}.jpg`)
    expect(pat.event.photo?.url).toContain(`450-${photoId}.jpg`)
    expect(pat.event.at).toBe(w.at(40).toISOString())
    expect(mine.find((i) => i.id === bio.id)!.event.addedText).toBe('I sail')
    expect(mine.find((i) => i.id === voice.id)!.flair).toEqual(['one-month', 'voice-bio'])
  })

  it('hides age and place when the member hides them', async () => {
    const w = timeWindow()
    const me = await viewer()
    const shy = await person({ at: w.at(5), profile: { showMyAge: false, showMyLocation: false } })
    const item = (await feed(me.token, w.before)).data.find((i) => i.id === shy.id)!
    expect(item.age).toBeNull()
    expect(item.place).toBeNull()
  })

  it('records a bio edit with the text it added, and nothing for a deletion', async () => {
    const me = await viewer({ profile: { about: 'I like tea.' } })
    const patch = (about: string | null) => call('PATCH', '/api/v1/me/profile', me.token, { about })
    expect((await patch('I like tea and long walks.')).status).toBe(200)
    const events = () => db.select().from(feedEvents).where(eq(feedEvents.userId, me.id))
    expect((await events()).map((e) => [e.kind, e.addedText])).toEqual([['updated-bio', 'and long walks']])
    expect((await patch('I like tea.')).status).toBe(200)
    expect(await events()).toHaveLength(1)
  })
})

describe('deleting the object of the latest event', () => {
  it("falls back to the event before it (a photo's event to the bio update, then to joining)", async () => {
    const w = timeWindow()
    const me = await viewer()
    const them = await person({ at: w.at(50) })
    await db
      .insert(feedEvents)
      .values({ userId: them.id, kind: 'updated-bio', at: w.at(40), addedText: 'hi' })
    const photoId = await addPhoto(them.id)
    const voiceId = await addVoiceBio(them.id)
    const [row] = await db.select().from(profiles).where(eq(profiles.userId, them.id))
    const [latest] = await db.select().from(feedEvents).where(eq(feedEvents.id, row!.lastEventId!))
    expect(latest!.voiceBioId).toBe(voiceId)

    await db.delete(photos).where(eq(photos.id, photoId))
    await db.delete(voiceBios).where(eq(voiceBios.userId, them.id))
    const item = (await feed(me.token, w.before)).data.find((i) => i.id === them.id)!
    expect(item.event).toMatchObject({ kind: 'updated-bio', addedText: 'hi', at: w.at(40).toISOString() })

    await db.delete(feedEvents).where(eq(feedEvents.userId, them.id))
    const [after] = await db.select().from(profiles).where(eq(profiles.userId, them.id))
    expect(after!.lastEventId).toBeNull()
    expect(after!.lastEventAt!.getTime()).toBe(after!.onboardedAt!.getTime())
  })

  it('replacing a photo replaces its event', async () => {
    const them = await person()
    const first = await addPhoto(them.id)
    const second = hex64()
    await db.update(photos).set({ id: second }).where(eq(photos.id, first))
    const events = await db.select().from(feedEvents).where(eq(feedEvents.userId, them.id))
    expect(events.map((e) => e.photoId)).toEqual([second])
  })

  it('records no event for photos added while onboarding', async () => {
    const them = await person({ profile: { onboardedAt: null } })
    await addPhoto(them.id)
    expect(await db.select().from(feedEvents).where(eq(feedEvents.userId, them.id))).toHaveLength(0)
  })
})

describe('who appears', () => {
  it('only active, onboarded, non-bot, non-shadow-banned, undeleted members', async () => {
    const w = timeWindow()
    const me = await viewer()
    const ok = await person({ at: w.at(5) })
    const gone = await person({ at: w.at(5), user: { status: 'deactivated' } })
    const bot = await person({ at: w.at(5), user: { role: 'bot' } })
    const banned = await person({ at: w.at(5), profile: { shadowBannedAt: new Date() } })
    const deleted = await person({ at: w.at(5), user: { deletedAt: new Date() } })
    expect(await shown(me.token, w.before, [ok, gone, bot, banned, deleted, me])).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
    ])
  })

  it('only activity within the last month', async () => {
    const me = await viewer()
    const before = new Date(Date.now() - 29 * day).toISOString()
    const recent = await person({ at: new Date(Date.now() - 29.5 * day) })
    const old = await person({ at: new Date(Date.now() - 31 * day) })
    expect(await shown(me.token, before, [recent, old])).toEqual([true, false])
  })

  it("only members whose privacy level the viewer's verification meets", async () => {
    const w = timeWindow()
    const unverified = await viewer()
    const verified = await viewer({ profile: { verificationLevel: 'photos' } })
    const open = await person({ at: w.at(5) })
    const basics = await person({ at: w.at(6), profile: { privacyVerificationLevel: 'basics' } })
    const strict = await person({ at: w.at(7), profile: { privacyVerificationLevel: 'photos' } })
    expect(await shown(unverified.token, w.before, [open, basics, strict])).toEqual([true, false, false])
    expect(await shown(verified.token, w.before, [open, basics, strict])).toEqual([true, true, true])
  })

  it('members hiding from strangers only when they messaged the viewer', async () => {
    const w = timeWindow()
    const me = await viewer()
    const hiding = await person({ at: w.at(5), profile: { hideMeFromStrangers: true } })
    const hidingButWrote = await person({ at: w.at(6), profile: { hideMeFromStrangers: true } })
    await db.insert(messaged).values({ subjectId: hidingButWrote.id, objectId: me.id })
    expect(await shown(me.token, w.before, [hiding, hidingButWrote])).toEqual([false, true])
  })

  it('no skips either way; my own skips when my skipped filter shows them', async () => {
    const w = timeWindow()
    const me = await viewer()
    const showsSkips = await viewer({ filters: { skipped: 'show' } })
    const skippedByMe = await person({ at: w.at(5) })
    const skippedMe = await person({ at: w.at(6) })
    const neither = await person({ at: w.at(7) })
    await db.insert(skips).values([
      { subjectId: me.id, objectId: skippedByMe.id },
      { subjectId: showsSkips.id, objectId: skippedByMe.id },
      { subjectId: skippedMe.id, objectId: me.id },
      { subjectId: skippedMe.id, objectId: showsSkips.id },
    ])
    expect(await shown(me.token, w.before, [skippedByMe, skippedMe, neither])).toEqual([false, false, true])
    expect(await shown(showsSkips.token, w.before, [skippedByMe, skippedMe, neither])).toEqual([
      true,
      false,
      true,
    ])
  })

  it('people I messaged unless my messaged filter hides them', async () => {
    const w = timeWindow()
    const me = await viewer()
    const hider = await viewer({ filters: { messaged: 'hide' } })
    const written = await person({ at: w.at(5) })
    const other = await person({ at: w.at(6) })
    // Written two days ago: intros of the last day would damp them.
    const createdAt = new Date(Date.now() - 2 * day)
    await db.insert(messaged).values([
      { subjectId: me.id, objectId: written.id, createdAt },
      { subjectId: hider.id, objectId: written.id, createdAt },
    ])
    expect(await shown(me.token, w.before, [written, other])).toEqual([true, true])
    expect(await shown(hider.token, w.before, [written, other])).toEqual([false, true])
  })

  it("only members who want the viewer's gender", async () => {
    const w = timeWindow()
    const me = await viewer()
    const wantsWomen = await person({ at: w.at(5) })
    const wantsMen = await person({ at: w.at(6), seeking: ['man'] })
    const wantsBoth = await person({ at: w.at(7), seeking: ['man', 'woman'] })
    expect(await shown(me.token, w.before, [wantsWomen, wantsMen, wantsBoth])).toEqual([true, false, true])
  })

  it('not members reported twice in two days', async () => {
    const w = timeWindow()
    const me = await viewer()
    const once = await person({ at: w.at(5) })
    const twice = await person({ at: w.at(6) })
    const twiceLongAgo = await person({ at: w.at(7) })
    const reporters = await Promise.all([account(), account()])
    const old = new Date(Date.now() - 3 * day)
    await db.insert(skips).values([
      { subjectId: reporters[0].id, objectId: once.id, reported: true },
      ...reporters.map((r) => ({ subjectId: r.id, objectId: twice.id, reported: true })),
      ...reporters.map((r) => ({
        subjectId: r.id,
        objectId: twiceLongAgo.id,
        reported: true,
        createdAt: old,
      })),
    ])
    expect(await shown(me.token, w.before, [once, twice, twiceLongAgo])).toEqual([true, false, true])
  })

  it('members told to verify only once verified', async () => {
    const w = timeWindow()
    const me = await viewer()
    const unverified = await person({ at: w.at(5), profile: { verificationRequired: true } })
    const verified = await person({
      at: w.at(6),
      profile: { verificationRequired: true, verificationLevel: 'basics' },
    })
    expect(await shown(me.token, w.before, [unverified, verified])).toEqual([false, true])
  })

  it('new members only when they seem human', async () => {
    const w = timeWindow()
    const me = await viewer()
    const fresh = { onboardedAt: new Date(Date.now() - 2 * day) }
    const blank = await person({ at: w.at(5), profile: fresh })
    const verified = await person({ at: w.at(6), profile: { ...fresh, verificationLevel: 'basics' } })
    const themed = await person({
      at: w.at(7),
      profile: {
        ...fresh,
        themeTitleColor: '#000000',
        themeBodyColor: '#111111',
        themeBackgroundColor: '#ffffff',
      },
    })
    const voice = await person({ at: w.at(8), profile: fresh })
    await addVoiceBio(voice.id)
    await eventAt(voice.id, w.at(8))
    const [tier] = await db
      .insert(tiers)
      .values({ name: `paid-${tag()}`, features: { paidFlair: true } })
      .returning()
    const paid = await person({ at: w.at(9), profile: fresh, user: { tierId: tier!.id } })
    const engaged = await person({
      at: w.at(10),
      profile: { ...fresh, answerCount: 25, about: 'Hello there' },
    })
    const club = `feed-${politeTag(10, (t) => `feed-${t}`)}`
    await db.insert(clubs).values({ name: club })
    await db.insert(memberClubs).values({ userId: engaged.id, clubName: club })
    const engagedNoClub = await person({ at: w.at(11), profile: { ...fresh, answerCount: 25, about: 'Hi' } })
    expect(
      await shown(me.token, w.before, [blank, verified, themed, voice, paid, engaged, engagedNoClub]),
    ).toEqual([false, true, true, true, true, true, false])
  })

  it('damps members flooded with intros, and large age gaps, the same way on every call', async () => {
    const w = timeWindow()
    const me = await viewer()
    const flooded = await Promise.all(Array.from({ length: 10 }, (_, i) => person({ at: w.at(10 + i) })))
    const quiet = await Promise.all(Array.from({ length: 5 }, (_, i) => person({ at: w.at(30 + i) })))
    const older = await Promise.all(
      Array.from({ length: 5 }, (_, i) => person({ at: w.at(40 + i), age: 60 })),
    )
    const senders = await Promise.all(Array.from({ length: 8 }, () => account()))
    await db
      .insert(messaged)
      .values(flooded.flatMap((f) => senders.map((snd) => ({ subjectId: snd.id, objectId: f.id }))))
    const first = await shown(me.token, w.before, [...flooded, ...quiet, ...older])
    // Kept with odds 1/9^1.5 ≈ 4 % each, and exp(−8) ≈ 0.03 % for twice the viewer's age.
    expect(first.slice(0, 10).filter(Boolean).length).toBeLessThanOrEqual(3)
    expect(first.slice(10, 15)).toEqual([true, true, true, true, true])
    expect(first.slice(15).filter(Boolean).length).toBe(0)
    expect(await shown(me.token, w.before, [...flooded, ...quiet, ...older])).toEqual(first)
  })
})

describe('ranking and paging', () => {
  it('keeps the best of each window by wanted gender, then match, and shows them newest first', async () => {
    const w = timeWindow()
    const me = await viewer({ seeking: ['man'] })
    const weak = unit.map((x) => x * 0.1)
    const opposite = unit.map((x) => -x)
    const womanGoodMatch = await person({ at: w.at(1), gender: 'woman' })
    const manBadMatch = await person({ at: w.at(2), profile: { personality: opposite } })
    const manGoodMatch = await person({ at: w.at(3) })
    const manWeakMatch = await person({ at: w.at(4), profile: { personality: weak } })
    const page = async (before: string) => {
      const { rows } = await db.execute(
        feedQuery({
          viewerId: me.id,
          before: parseFeedCursor(before)!,
          now: new Date(),
          earlyAdopterCutoff: null,
          pageSize: 2,
          windowSize: 3,
        }),
      )
      return rows as { user_id: string; window_oldest: string }[]
    }
    const first = await page(w.before)
    // Window: the three newest; the woman ranks last (not the viewer's wanted gender).
    expect(first.map((r) => r.user_id)).toEqual([manBadMatch.id, manGoodMatch.id])
    const second = await page(first[0]!.window_oldest)
    expect(second.map((r) => r.user_id)[0]).toBe(manWeakMatch.id)
    expect(second.map((r) => r.user_id)).not.toContain(womanGoodMatch.id)
  })

  /** Pages the viewer's feed from `before` with small sizes, until `ids` were all seen (or 20 pages). */
  async function pageThrough(
    viewerId: string,
    before: string,
    ids: string[],
    sizes: { pageSize: number; windowSize: number; streamCap?: number },
  ) {
    const seen: string[] = []
    const cursors: string[] = []
    let cursor: FeedCursor | null = parseFeedCursor(before)
    for (let n = 0; n < 20 && cursor && !ids.every((id) => seen.includes(id)); n++) {
      const { rows } = await db.execute(
        feedQuery({ viewerId, before: cursor, now: new Date(), earlyAdopterCutoff: null, ...sizes }),
      )
      const page = rows as { user_id: string; window_oldest: string | null }[]
      seen.push(...page.map((r) => r.user_id).filter((id) => ids.includes(id)))
      const next = page[0]?.window_oldest ?? null
      if (next) cursors.push(next)
      cursor = next ? parseFeedCursor(next) : null
    }
    return { seen, cursors }
  }

  it('splits members with the same time exactly at a window boundary: none skipped, none twice', async () => {
    const w = timeWindow()
    const me = await viewer()
    const at = w.at(10)
    const tied: string[] = []
    for (let i = 0; i < 5; i++) tied.push((await person({ at })).id)
    const byId = [...tied].sort().reverse()
    const { seen, cursors } = await pageThrough(me.id, w.before, tied, { pageSize: 2, windowSize: 2 })
    // (time, id) descending: all at one time, so by id, each once, over three pages.
    expect(seen).toEqual(byId)
    expect(cursors.length).toBeGreaterThanOrEqual(2)
    for (const c of cursors) expect(c).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z_[0-9a-f-]{36}$/)
    expect(cursors[0]).toBe(`${at.toISOString().replace('Z', '000Z')}_${byId[1]}`)
  })

  it('continues below a stream cut at its cap, ties included', async () => {
    const w = timeWindow()
    const me = await viewer()
    const first = await person({ at: w.at(10) })
    const tied: string[] = []
    for (let i = 0; i < 3; i++) tied.push((await person({ at: w.at(11) })).id)
    const last = await person({ at: w.at(12) })
    const ids = [first.id, ...tied, last.id]
    // A window of 10 never fills: each page ends where a stream of 2 was cut off.
    const { seen, cursors } = await pageThrough(me.id, w.before, ids, {
      pageSize: 10,
      windowSize: 10,
      streamCap: 2,
    })
    expect(seen).toEqual([first.id, ...[...tied].sort().reverse(), last.id])
    expect(cursors.length).toBeGreaterThanOrEqual(2)
  })

  it('takes a bare date-time or a returned cursor as `before`, and refuses malformed ones', async () => {
    const w = timeWindow()
    const me = await viewer()
    const a = await person({ at: w.at(10) })
    const b = await person({ at: w.at(10) })
    const [high, low] = [a.id, b.id].sort().reverse()
    const at = w.at(10).toISOString()
    const ids = (page: Page) => page.data.map((i) => i.id).filter((id) => id === a.id || id === b.id)
    // A bare time: strictly older only, so neither member at exactly that time.
    expect(ids(await feed(me.token, at))).toEqual([])
    // A cursor at that time and the higher id: only the lower id is below it.
    expect(ids(await feed(me.token, `${at}_${high}`))).toEqual([low])
    expect(ids(await feed(me.token, `${at}_${high!.toUpperCase()}`))).toEqual([low])
    expect(ids(await feed(me.token, w.before))).toEqual([high, low])
    for (const bad of [
      '2026-02-30T00:00:00Z',
      `${at}_not-a-uuid`,
      `${at}_${high}_${low}`,
      `${at}_`,
      `${at}_${high}${'x'.repeat(40)}`,
    ]) {
      const res = await call('GET', `/api/v1/feed?before=${encodeURIComponent(bad)}`, me.token)
      expect(res.status, bad).toBe(422)
      expect((await problem(res)).errors?.[0]?.path).toBe('query.before')
    }
  })

  it('pages are stable across calls; the cursor is null once everything was read', async () => {
    const w = timeWindow()
    const me = await viewer()
    const members: Awaited<ReturnType<typeof person>>[] = []
    for (let i = 0; i < 3; i++) members.push(await person({ at: w.at(5 + i) }))
    const a = await feed(me.token, w.before)
    const b = await feed(me.token, w.before)
    expect(b).toEqual(a)
    const mine = a.data.filter((i) => members.some((m) => m.id === i.id)).map((i) => i.id)
    expect(mine).toEqual(members.map((m) => m.id))
    // Fewer than a window's worth passed and both streams were read to the end of the month.
    expect(a.nextBefore).toBeNull()
  })
})

describe('errors', () => {
  it('401 without a token, 409 before onboarding, 422 on a bad cursor', async () => {
    expect((await call('GET', '/api/v1/feed')).status).toBe(401)
    const onboarding = await account('member', { status: 'onboarding' })
    const early = await call('GET', '/api/v1/feed', onboarding.token)
    expect(early.status).toBe(409)
    expect((await problem(early)).code).toBe('onboarding_required')
    const me = await viewer()
    const bad = await call('GET', '/api/v1/feed?before=yesterday', me.token)
    expect(bad.status).toBe(422)
    expect((await problem(bad)).errors?.[0]?.path).toBe('query.before')
  })

  it("429 past the tier's limit", async () => {
    const tier = await tierWithRules('feed-rl', [{ route: 'GET /api/v1/feed', limit: 1 }])
    const me = await viewer({ user: { tierId: tier.id } })
    expect((await call('GET', '/api/v1/feed', me.token)).status).toBe(200)
    const refused = await call('GET', '/api/v1/feed', me.token)
    expect(refused.status).toBe(429)
    expect((await problem(refused)).code).toBe('rate_limited')
  })
})
