import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  answers,
  clubs,
  memberClubs,
  messaged,
  photos,
  profiles,
  searchPreferences,
  searchResults,
  skips,
  tiers,
  users,
} from '../../../src/db/schema'
import { account, call, member } from '../fixtures'
import { clearOfWindowEdge, politeTag, problem, services } from '../helpers'
import { listFilterValues } from '../../../src/services/search/filters'
import {
  exactRankingQuery,
  parseSearchContext,
  searcherContextQuery,
} from '../../../src/services/search/query'
import { rebuildSearch, searchPage } from '../../../src/services/search/search'
import { neonConfig } from '@neondatabase/serverless'

const s = services()
const db = s.database.db
const tag = () => crypto.randomUUID().replaceAll('-', '').slice(0, 10)

/**
 * Every test builds its own members at its own spot in the empty Southern Ocean and searches
 * within 50–100 km of it, so neither other test files (members in Sydney) nor other tests here
 * show up in its results. The spots are cells of a grid 2° of latitude by 4° of longitude (over
 * 200 km apart at these latitudes), handed out in turn: random spots in the same stretch of ocean
 * now and then fell within 50 km of each other, and one test saw another's member.
 */
let spotsTaken = 0
function spot() {
  const n = spotsTaken++
  if (n >= 6 * 27) throw new Error('spot(): the grid is used up; widen it')
  return { latitude: -64 + 2 * (n % 6), longitude: -158 + 4 * Math.floor(n / 6) }
}
/** A point `km` kilometres north of `at`. */
const north = (at: { latitude: number; longitude: number }, km: number) => ({
  latitude: at.latitude + km / 111.195,
  longitude: at.longitude,
})

/** Personality vectors of length 25 (24 traits + 1): `unit` dotted with itself is 1. */
const unit = Array.from({ length: 25 }, () => 0.2)
const scaled = (k: number) => unit.map((x) => x * k)

type Gender = (typeof profiles.$inferInsert)['gender']
const yearsAgo = (years: number) => {
  const d = new Date()
  d.setUTCFullYear(d.getUTCFullYear() - years)
  d.setUTCMonth(d.getUTCMonth() - 1)
  return d.toISOString().slice(0, 10)
}

interface PersonOpts {
  at: { latitude: number; longitude: number }
  gender?: Gender
  age?: number
  seeking?: NonNullable<Gender>[]
  ages?: [number, number]
  distance?: number | null
  filters?: Record<string, unknown>
  profile?: Partial<typeof profiles.$inferInsert>
  user?: Partial<typeof users.$inferInsert>
  photo?: boolean
  name?: string
}

/** An onboarded member with search preferences (default: a 30-year-old man seeking women within 50 km, ages 25–35). */
async function person(o: PersonOpts) {
  const m = await member({
    name: o.name ?? 'Robin',
    user: o.user,
    profile: {
      ...o.at,
      gender: o.gender ?? 'man',
      dateOfBirth: yearsAgo(o.age ?? 30),
      seekingGenders: o.seeking ?? ['woman'],
      personality: unit,
      ...o.profile,
    },
  })
  await db.insert(searchPreferences).values({
    userId: m.id,
    genders: o.seeking ?? ['woman'],
    minAge: o.ages?.[0] ?? 25,
    maxAge: o.ages?.[1] ?? 35,
    maxDistanceKm: o.distance === undefined ? 50 : o.distance,
    filters: o.filters ?? {},
  })
  if (o.photo) {
    await db.insert(photos).values({
      id: (tag() + tag() + tag() + tag() + tag() + tag() + tag()).slice(0, 64).padEnd(64, '0'),
      userId: m.id,
      position: 1,
      blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
      width: 900,
      height: 900,
      contentHash: tag(),
    })
  }
  return m
}

/** A woman of 30 seeking men within 50 km, ages 25–35: the searcher most tests use. */
const searcher = (at: PersonOpts['at'], o: Partial<PersonOpts> = {}) =>
  person({ gender: 'woman', seeking: ['man'], ...o, at })

interface Row {
  id: string
  position: number
  name: string | null
  urlSlug: string | null
  age: number | null
  photo: { url: string; blurhash: string } | null
  matchPercentage: number
  verificationLevel: string
  messagedMe: boolean
  iMessaged: boolean
  verificationRequiredToView: string | null
  flair: string[]
}
interface SearchPage {
  data: Row[]
  total_count: number
  has_more: boolean
  page: number
  items_per_page: number
}

/** Rebuild the searcher's list through the API and return every row of it (all pages). */
async function search(token: string): Promise<Row[]> {
  const first = await call('POST', '/api/v1/search', token)
  expect(first.status).toBe(200)
  const rows = [...((await first.json()) as SearchPage).data]
  for (let page = 2; page < 10; page++) {
    const res = await call('GET', `/api/v1/search?page=${page}`, token)
    const body = (await res.json()) as SearchPage
    if (body.data.length === 0) break
    rows.push(...body.data)
  }
  return rows
}
const ids = async (token: string) => new Set((await search(token)).map((r) => r.id))

const patch = (token: string, body: unknown) => call('PATCH', '/api/v1/search/filters', token, body)

describe('mutual conditions', () => {
  it('shows only people who fit my filters and whose own filters fit me', async () => {
    const at = spot()
    const me = await searcher(at)
    const fits = await person({ at: north(at, 5) })
    const woman = await person({ at: north(at, 5), gender: 'woman', seeking: ['woman'] })
    const wantsMen = await person({ at: north(at, 5), seeking: ['man'] })
    const tooOld = await person({ at: north(at, 5), age: 40, ages: [25, 45] })
    const wantsOlder = await person({ at: north(at, 5), ages: [40, 50] })
    const far = await person({ at: north(at, 80), distance: null })
    const staysClose = await person({ at: north(at, 30), distance: 20 })
    const opposite = await person({ at: north(at, 5), profile: { personality: scaled(-1) } })
    const found = await ids(me.token)
    expect(found).toEqual(new Set([fits.id]))
    for (const other of [woman, wantsMen, tooOld, wantsOlder, far, staysClose, opposite]) {
      expect(found.has(other.id)).toBe(false)
    }
    // Each of them finds me only when I fit them: `fits` does; `staysClose` does not (I am 30 km away).
    expect((await ids(fits.token)).has(me.id)).toBe(true)
    expect((await ids(staysClose.token)).has(me.id)).toBe(false)
    expect((await ids(wantsOlder.token)).has(me.id)).toBe(false)
  })

  it('leaves out deactivated, deleted, bot, shadow-banned and unverified-but-required members', async () => {
    const at = spot()
    const me = await searcher(at)
    const ok = await person({ at })
    const verifiedRequired = await person({
      at,
      profile: { verificationRequired: true, verificationLevel: 'basics' },
    })
    const hidden = [
      await person({ at, user: { status: 'deactivated' } }),
      await person({ at, user: { deletedAt: new Date() } }),
      await person({ at, user: { role: 'bot' } }),
      await person({ at, profile: { shadowBannedAt: new Date() } }),
      await person({ at, profile: { verificationRequired: true } }),
    ]
    const found = await ids(me.token)
    expect(found).toEqual(new Set([ok.id, verifiedRequired.id]))
    for (const h of hidden) expect(found.has(h.id)).toBe(false)
  })

  it("carries each result's flair", async () => {
    const at = spot()
    const me = await searcher(at)
    const keen = await person({ at, profile: { answerCount: 500, about: 'x'.repeat(500) } })
    const rows = await search(me.token)
    expect(rows.find((r) => r.id === keen.id)?.flair).toEqual(['q-and-a-500', 'long-bio'])
  })

  it('still gives a shadow-banned searcher results, and never shows them to others', async () => {
    const at = spot()
    const banned = await searcher(at, { profile: { shadowBannedAt: new Date() } })
    const other = await person({ at })
    expect(await ids(banned.token)).toEqual(new Set([other.id]))
    expect((await ids(other.token)).has(banned.id)).toBe(false)
  })

  it('hides skips both ways; my own skips show when I ask, theirs never', async () => {
    const at = spot()
    const me = await searcher(at)
    const iSkipped = await person({ at })
    const skippedMe = await person({ at })
    const neutral = await person({ at })
    await db.insert(skips).values([
      { subjectId: me.id, objectId: iSkipped.id },
      { subjectId: skippedMe.id, objectId: me.id, reported: true, reportReason: 'rude' },
    ])
    expect(await ids(me.token)).toEqual(new Set([neutral.id]))
    expect((await patch(me.token, { skipped: 'show' })).status).toBe(200)
    expect(await ids(me.token)).toEqual(new Set([neutral.id, iSkipped.id]))
    expect((await ids(skippedMe.token)).has(me.id)).toBe(false)
  })

  it('applies the messaged filter and hide-me-from-strangers, and flags messages both ways', async () => {
    const at = spot()
    const me = await searcher(at)
    const iWrote = await person({ at })
    const wroteMe = await person({ at, profile: { hideMeFromStrangers: true } })
    const stranger = await person({ at, profile: { hideMeFromStrangers: true } })
    await db.insert(messaged).values([
      { subjectId: me.id, objectId: iWrote.id },
      { subjectId: wroteMe.id, objectId: me.id },
    ])
    const rows = await search(me.token)
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set([iWrote.id, wroteMe.id]))
    expect(rows.find((r) => r.id === iWrote.id)).toMatchObject({ iMessaged: true, messagedMe: false })
    expect(rows.find((r) => r.id === wroteMe.id)).toMatchObject({ iMessaged: false, messagedMe: true })
    expect(rows.some((r) => r.id === stranger.id)).toBe(false)
    expect((await patch(me.token, { messaged: 'hide' })).status).toBe(200)
    expect(await ids(me.token)).toEqual(new Set([wroteMe.id]))
  })
})

describe('one-way filters', () => {
  it('gender, age, distance, height and has-photo each narrow the results', async () => {
    const at = spot()
    const me = await searcher(at, { seeking: ['man', 'woman'], ages: [20, 60] })
    const young = await person({ at, age: 24, ages: [20, 60], profile: { heightCm: 160 }, photo: true })
    const old = await person({ at, age: 50, ages: [20, 60], profile: { heightCm: 190 } })
    const woman = await person({ at, gender: 'woman', seeking: ['woman'], ages: [20, 60] })
    const away = await person({
      at: north(at, 40),
      ages: [20, 60],
      distance: null,
      profile: { heightCm: 175 },
    })
    expect(await ids(me.token)).toEqual(new Set([young.id, old.id, woman.id, away.id]))

    expect((await patch(me.token, { gender: ['woman'] })).status).toBe(200)
    expect(await ids(me.token)).toEqual(new Set([woman.id]))
    expect((await patch(me.token, { gender: ['man'] })).status).toBe(200)
    expect(await ids(me.token)).toEqual(new Set([young.id, old.id, away.id]))

    expect((await patch(me.token, { age: { min: 45, max: 60 } })).status).toBe(200)
    expect(await ids(me.token)).toEqual(new Set([old.id]))
    expect((await patch(me.token, { age: { min: 20, max: 60 } })).status).toBe(200)

    expect((await patch(me.token, { distance: 20 })).status).toBe(200)
    expect((await ids(me.token)).has(away.id)).toBe(false)
    expect((await patch(me.token, { distance: null })).status).toBe(200)
    expect((await ids(me.token)).has(away.id)).toBe(true)
    // Anywhere reaches members other tests created; the checks below stay among this test's people.
    expect((await patch(me.token, { distance: 100 })).status).toBe(200)

    expect((await patch(me.token, { height: { min: 170, max: null } })).status).toBe(200)
    expect(await ids(me.token)).toEqual(new Set([old.id, away.id]))
    expect((await patch(me.token, { height: { min: 170, max: 180 } })).status).toBe(200)
    expect(await ids(me.token)).toEqual(new Set([away.id]))
    expect((await patch(me.token, { height: { min: null, max: null } })).status).toBe(200)

    expect((await patch(me.token, { hasPhoto: true })).status).toBe(200)
    expect(await ids(me.token)).toEqual(new Set([young.id]))
  })

  it('every basics list filter keeps the chosen values, and `unanswered` keeps empty fields', async () => {
    const at = spot()
    const me = await searcher(at)
    const first = {
      orientation: 'straight',
      ethnicity: 'east-asian',
      lookingFor: 'friends',
      smoking: 'yes',
      drinking: 'often',
      drugs: 'yes',
      longDistance: 'yes',
      relationshipStatus: 'single',
      hasKids: 'yes',
      wantsKids: 'yes',
      exercise: 'often',
      religion: 'agnostic',
      starSign: 'aries',
    } as const
    const second = {
      orientation: 'gay',
      ethnicity: 'south-asian',
      lookingFor: 'marriage',
      smoking: 'no',
      drinking: 'never',
      drugs: 'no',
      longDistance: 'no',
      relationshipStatus: 'married',
      hasKids: 'no',
      wantsKids: 'maybe',
      exercise: 'never',
      religion: 'muslim',
      starSign: 'virgo',
    } as const
    const a = await person({ at, profile: first })
    const b = await person({ at, profile: second })
    const empty = await person({ at })
    // Rebuilt through the service: 26 searches are more than the route's rate limit allows.
    const { rebuildSearch } = await import('../../../src/services/search/search')
    const found = async () => new Set((await rebuildSearch(s, me.id, 10)).data.map((r) => r.id))
    expect(await found()).toEqual(new Set([a.id, b.id, empty.id]))
    for (const field of Object.keys(first) as (keyof typeof first)[]) {
      const res = await patch(me.token, { [field]: [first[field]] })
      expect(res.status, field).toBe(200)
      expect(((await res.json()) as Record<string, unknown>)[field]).toEqual([first[field]])
      expect(await found(), field).toEqual(new Set([a.id]))
      expect((await patch(me.token, { [field]: [second[field], 'unanswered'] })).status).toBe(200)
      expect(await found(), field).toEqual(new Set([b.id, empty.id]))
      // Back to "any": every value plus `unanswered`.
      expect((await patch(me.token, { [field]: [...listFilterValues[field], 'unanswered'] })).status).toBe(
        200,
      )
    }
    const [row] = await db.select().from(searchPreferences).where(eq(searchPreferences.userId, me.id))
    expect(row!.filters).toEqual({})
  })

  it('Q&A filters keep matching answers, and unanswered ones when accepted', async () => {
    const at = spot()
    const me = await searcher(at)
    const yes = await person({ at })
    const no = await person({ at })
    const skipped = await person({ at })
    const silent = await person({ at })
    await db.insert(answers).values([
      { userId: yes.id, questionId: 7, answer: true },
      { userId: no.id, questionId: 7, answer: false },
      { userId: skipped.id, questionId: 7, answer: null },
      { userId: yes.id, questionId: 8, answer: true },
      { userId: no.id, questionId: 8, answer: true },
    ])
    const put = (q: number, body: unknown) =>
      call('PUT', `/api/v1/search/filters/questions/${q}`, me.token, body)
    const res = await put(7, { answer: true, acceptUnanswered: false })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ questionId: 7, answer: true, acceptUnanswered: false })
    expect(await ids(me.token)).toEqual(new Set([yes.id]))
    expect((await put(7, { answer: false, acceptUnanswered: true })).status).toBe(200)
    expect(await ids(me.token)).toEqual(new Set([no.id, skipped.id, silent.id]))
    expect((await put(8, { answer: true })).status).toBe(200)
    expect(await ids(me.token)).toEqual(new Set([no.id]))
    const filters = (await (await call('GET', '/api/v1/search/filters', me.token)).json()) as {
      questions: { questionId: number; answer: boolean; acceptUnanswered: boolean }[]
    }
    expect(filters.questions.map((q) => [q.questionId, q.answer, q.acceptUnanswered])).toEqual([
      [7, false, true],
      [8, true, false],
    ])
    expect((await call('DELETE', '/api/v1/search/filters/questions/7', me.token)).status).toBe(204)
    expect((await call('DELETE', '/api/v1/search/filters/questions/8', me.token)).status).toBe(204)
    expect(await ids(me.token)).toEqual(new Set([yes.id, no.id, skipped.id, silent.id]))
  })

  it('a club filter keeps the club members and waives the mutual conditions', async () => {
    const at = spot()
    const me = await searcher(at)
    const club = `search club ${politeTag(10, (t) => `search club ${t}`)}`
    await db.insert(clubs).values({ name: club })
    const inClubFits = await person({ at })
    const inClubWantsMen = await person({ at, seeking: ['man'] })
    const notInClub = await person({ at })
    const inClubTooFar = await person({ at: north(at, 80), distance: null })
    await db
      .insert(memberClubs)
      .values([me, inClubFits, inClubWantsMen, inClubTooFar].map((m) => ({ userId: m.id, clubName: club })))

    const notMine = await patch(me.token, { club: `other ${politeTag(10, (t) => `other ${t}`)}` })
    expect(notMine.status).toBe(422)
    expect((await problem(notMine)).errors?.[0]?.path).toBe('json.club')

    const set = await patch(me.token, { club: club.toUpperCase() })
    expect(set.status).toBe(200)
    expect(((await set.json()) as { club: string }).club).toBe(club)
    expect(await ids(me.token)).toEqual(new Set([inClubFits.id, inClubWantsMen.id]))
    expect((await patch(me.token, { club: null })).status).toBe(200)
    expect(await ids(me.token)).toEqual(new Set([inClubFits.id, notInClub.id]))
    // Leaving the club turns the filter off rather than emptying the search.
    expect((await patch(me.token, { club })).status).toBe(200)
    await db.delete(memberClubs).where(eq(memberClubs.userId, me.id))
    expect(await ids(me.token)).toEqual(new Set([inClubFits.id, notInClub.id]))
  })
})

describe('results', () => {
  it('orders by photo, then verification, then match %, and masks private fields', async () => {
    const at = spot()
    const me = await searcher(at)
    const plain = await person({ at, profile: { personality: scaled(0.9) } })
    const close = await person({ at, profile: { personality: scaled(1) } })
    const withPhoto = await person({ at, photo: true, profile: { personality: scaled(0.2) } })
    const verifiedPhoto = await person({
      at,
      photo: true,
      profile: { personality: scaled(0.1), verificationLevel: 'photos' },
    })
    const privateOne = await person({
      at,
      name: 'Hidden',
      photo: true,
      profile: { personality: scaled(0.1), privacyVerificationLevel: 'basics', showMyAge: false },
    })
    const rows = await search(me.token)
    expect(rows.map((r) => r.id)).toEqual([verifiedPhoto.id, withPhoto.id, privateOne.id, close.id, plain.id])
    expect(rows.map((r) => r.position)).toEqual([1, 2, 3, 4, 5])
    expect(rows.find((r) => r.id === close.id)).toMatchObject({ matchPercentage: 99, name: 'Robin', age: 30 })
    expect(rows.find((r) => r.id === plain.id)!.matchPercentage).toBe(95)
    const photo = rows.find((r) => r.id === withPhoto.id)!.photo!
    expect(photo.url).toMatch(/\/450-[0-9a-f]{64}\.jpg$/)
    expect(photo.blurhash).toBe('LEHV6nWB2yk8pyo0adR*.7kCMdnj')
    expect(rows.find((r) => r.id === privateOne.id)).toMatchObject({
      name: null,
      urlSlug: null,
      age: null,
      photo: null,
      verificationRequiredToView: 'basics',
    })

    // A viewer verified at the member's level sees the fields (age stays hidden by the member's choice).
    await db.update(profiles).set({ verificationLevel: 'basics' }).where(eq(profiles.userId, me.id))
    const page = (await (await call('GET', '/api/v1/search', me.token)).json()) as SearchPage
    expect(page.data.find((r) => r.id === privateOne.id)).toMatchObject({
      name: 'Hidden',
      age: null,
      verificationRequiredToView: null,
    })
    expect(page.data.find((r) => r.id === privateOne.id)!.photo).not.toBeNull()
    // …and so does anyone the member has messaged.
    const other = await searcher(at)
    await db.insert(messaged).values({ subjectId: privateOne.id, objectId: other.id })
    const theirs = await search(other.token)
    expect(theirs.find((r) => r.id === privateOne.id)).toMatchObject({ name: 'Hidden', messagedMe: true })
  })

  it('a rebuild waits for one in flight and then replaces its whole list, tail included', async () => {
    const at = spot()
    const me = await searcher(at)
    const people: { id: string }[] = []
    for (let i = 0; i < 5; i++)
      people.push(await person({ at, profile: { personality: scaled(0.9 - i / 50) } }))
    let rebuild: Promise<Response> | undefined
    // Stand in for another rebuild of the same list: hold its lock, commit a longer list, release.
    await s.database.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`search-results:${me.id}`}, 0))`)
      rebuild = call('POST', '/api/v1/search', me.token)
      const settled = await Promise.race([
        rebuild.then(() => true),
        new Promise((r) => setTimeout(r, 300, false)),
      ])
      expect(settled).toBe(false)
      await tx.insert(searchResults).values(
        people.map((p, i) => ({
          searcherId: me.id,
          position: 40 + i,
          prospectId: p.id,
          matchPercentage: 50,
        })),
      )
    })
    expect((await rebuild!).status).toBe(200)
    const stored = await db.select().from(searchResults).where(eq(searchResults.searcherId, me.id))
    expect(stored.map((r) => r.position).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5])
    expect(new Set(stored.map((r) => r.prospectId)).size).toBe(5)
  })

  it('pages without overlap, cut by position; a new first page rebuilds the list', async () => {
    const at = spot()
    const me = await searcher(at)
    const before = await call('GET', '/api/v1/search', me.token)
    expect(before.status).toBe(200)
    expect(await before.json()).toMatchObject({ data: [], total_count: 0, has_more: false })
    const people: { id: string }[] = []
    for (let i = 0; i < 23; i++)
      people.push(await person({ at, profile: { personality: scaled(0.98 - i / 50) } }))

    const first = (await (await call('POST', '/api/v1/search', me.token)).json()) as SearchPage
    expect(first).toMatchObject({ total_count: 23, has_more: true, page: 1, items_per_page: 10 })
    const page = async (n: number) =>
      (await (await call('GET', `/api/v1/search?page=${n}`, me.token)).json()) as SearchPage
    const [second, third, fourth] = [await page(2), await page(3), await page(4)]
    expect(second.has_more).toBe(true)
    expect(third).toMatchObject({ has_more: false })
    expect(third.data).toHaveLength(3)
    expect(fourth.data).toEqual([])
    const all = [...first.data, ...second.data, ...third.data].map((r) => r.id)
    expect(new Set(all).size).toBe(23)
    expect(all).toEqual(people.map((p) => p.id))

    // Someone leaving drops out of their page without shifting the others.
    await db.update(users).set({ status: 'deactivated' }).where(eq(users.id, people[12]!.id))
    const again = await page(2)
    expect(again.data.map((r) => r.id)).toEqual(
      second.data.map((r) => r.id).filter((id) => id !== people[12]!.id),
    )
    expect((await page(3)).data.map((r) => r.id)).toEqual(third.data.map((r) => r.id))

    // A new first page rebuilds: the departed member is gone and positions close up.
    const rebuilt = (await (
      await call('POST', '/api/v1/search?items_per_page=5', me.token)
    ).json()) as SearchPage
    expect(rebuilt).toMatchObject({ total_count: 22, items_per_page: 5 })
    const stored = await db.select().from(searchResults).where(eq(searchResults.searcherId, me.id))
    expect(stored.map((r) => r.position).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 22 }, (_, i) => i + 1),
    )
  })

  it('a built list drops members later told to verify, hiding from strangers or turned bot', async () => {
    const at = spot()
    const me = await searcher(at)
    const flagged = await person({ at })
    const hiding = await person({ at })
    const botLater = await person({ at })
    const stays = await person({ at })
    const knowsMe = await person({ at })
    await db.insert(messaged).values({ subjectId: knowsMe.id, objectId: me.id })
    expect(await ids(me.token)).toEqual(new Set([flagged.id, hiding.id, botLater.id, stays.id, knowsMe.id]))
    // After the list was built: a bot-like report makes one verify, one hides, one is a bot.
    await db.update(profiles).set({ verificationRequired: true }).where(eq(profiles.userId, flagged.id))
    await db.update(profiles).set({ hideMeFromStrangers: true }).where(eq(profiles.userId, hiding.id))
    await db.update(profiles).set({ hideMeFromStrangers: true }).where(eq(profiles.userId, knowsMe.id))
    await db.update(users).set({ role: 'bot' }).where(eq(users.id, botLater.id))
    const paged = async () =>
      new Set(
        ((await (await call('GET', '/api/v1/search', me.token)).json()) as SearchPage).data.map((r) => r.id),
      )
    expect(await paged()).toEqual(new Set([stays.id, knowsMe.id]))
    const quiz = (await (await call('GET', '/api/v1/search/quiz', me.token)).json()) as { result: Row }
    expect([stays.id, knowsMe.id]).toContain(quiz.result.id)
  })

  it('the quiz search re-scores the top row against my current personality', async () => {
    const at = spot()
    const me = await searcher(at)
    const empty = await call('GET', '/api/v1/search/quiz', me.token)
    expect(empty.status).toBe(200)
    expect(await empty.json()).toEqual({ result: null })
    const top = await person({ at, profile: { personality: scaled(1) } })
    await search(me.token)
    const quiz = async () =>
      ((await (await call('GET', '/api/v1/search/quiz', me.token)).json()) as { result: Row }).result
    expect(await quiz()).toMatchObject({ id: top.id, matchPercentage: 99 })
    await db
      .update(profiles)
      .set({ personality: scaled(-0.5) })
      .where(eq(profiles.userId, me.id))
    expect(await quiz()).toMatchObject({ id: top.id, matchPercentage: 25 })
    // The list itself keeps the score it was built with.
    const page = (await (await call('GET', '/api/v1/search', me.token)).json()) as SearchPage
    expect(page.data[0]).toMatchObject({ id: top.id, matchPercentage: 99 })
  })

  it('members without answers match at 50', async () => {
    const at = spot()
    const me = await searcher(at, { profile: { personality: null } })
    const other = await person({ at })
    expect((await search(me.token)).find((r) => r.id === other.id)!.matchPercentage).toBe(50)
  })
})

describe('filter routes', () => {
  it('reads every filter with defaults and changes exactly one per request', async () => {
    const me = await searcher(spot())
    const res = await call('GET', '/api/v1/search/filters', me.token)
    expect(res.status).toBe(200)
    const body = (await res.json()) as Record<string, unknown>
    expect(body).toMatchObject({
      gender: ['man'],
      age: { min: 25, max: 35 },
      distance: 50,
      height: { min: null, max: null },
      hasPhoto: false,
      messaged: 'show',
      skipped: 'hide',
      club: null,
      questions: [],
    })
    expect(body.smoking).toEqual(['yes', 'no', 'unanswered'])
    expect(body.starSign).toHaveLength(13)

    const two = await patch(me.token, { smoking: ['no'], drinking: ['never'] })
    expect(two.status).toBe(422)
    expect((await problem(two)).errors?.map((e) => e.path).sort()).toEqual(['json.drinking', 'json.smoking'])
    const none = await patch(me.token, {})
    expect(none.status).toBe(422)
    for (const [bad, path] of [
      [{ gender: [] }, 'json.gender'],
      [{ gender: ['robot'] }, 'json.gender.0'],
      [{ age: { min: 40, max: 30 } }, 'json.age.max'],
      [{ age: { min: 17, max: 30 } }, 'json.age.min'],
      [{ distance: 0 }, 'json.distance'],
      [{ height: { min: 190, max: 150 } }, 'json.height.max'],
      [{ smoking: [] }, 'json.smoking'],
      [{ religion: ['jedi'] }, 'json.religion.0'],
      [{ messaged: 'maybe' }, 'json.messaged'],
      [{ hasPhoto: 'yes' }, 'json.hasPhoto'],
      [{ colour: ['red'] }, 'json'],
    ] as const) {
      const r = await patch(me.token, bad)
      expect(r.status, JSON.stringify(bad)).toBe(422)
      const p = await problem(r)
      expect(p.code).toBe('validation_failed')
      expect(
        p.errors?.map((e) => e.path),
        JSON.stringify(bad),
      ).toContain(path)
    }
    // Nothing was written by the refused requests.
    const [row] = await db.select().from(searchPreferences).where(eq(searchPreferences.userId, me.id))
    expect(row).toMatchObject({ genders: ['man'], minAge: 25, maxAge: 35, maxDistanceKm: 50, filters: {} })

    const ok = await patch(me.token, { age: { min: 30, max: 40 } })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ age: { min: 30, max: 40 }, distance: 50 })
  })

  it('keeps concurrent changes to different filters, and the Q&A cap under concurrency', async () => {
    const me = await searcher(spot())
    const fields = ['smoking', 'drinking', 'drugs', 'religion', 'hasKids'] as const
    const values = {
      smoking: ['no'],
      drinking: ['never'],
      drugs: ['no'],
      religion: ['other'],
      hasKids: ['no'],
    }
    const results = await Promise.all(fields.map((f) => patch(me.token, { [f]: values[f] })))
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
    const [row] = await db.select().from(searchPreferences).where(eq(searchPreferences.userId, me.id))
    expect(row!.filters).toEqual(values)

    for (let q = 1; q <= 19; q++) {
      expect(
        (await call('PUT', `/api/v1/search/filters/questions/${q}`, me.token, { answer: true })).status,
      ).toBe(200)
    }
    const racing = await Promise.all(
      [20, 21, 22].map((q) =>
        call('PUT', `/api/v1/search/filters/questions/${q}`, me.token, { answer: true }),
      ),
    )
    expect(racing.map((r) => r.status).sort()).toEqual([200, 409, 409])
  })

  it('gives a member without a preferences row the onboarding defaults', async () => {
    const m = await member({
      profile: { ...spot(), seekingGenders: ['woman', 'non-binary'], dateOfBirth: yearsAgo(33) },
    })
    const body = (await (await call('GET', '/api/v1/search/filters', m.token)).json()) as Record<
      string,
      unknown
    >
    expect(body).toMatchObject({ gender: ['woman', 'non-binary'], age: { min: 28, max: 38 }, distance: null })
    expect((await patch(m.token, { distance: 100 })).status).toBe(200)
    const [row] = await db.select().from(searchPreferences).where(eq(searchPreferences.userId, m.id))
    expect(row).toMatchObject({
      genders: ['woman', 'non-binary'],
      minAge: 28,
      maxAge: 38,
      maxDistanceKm: 100,
    })
  })

  it('finds questions to filter on and caps Q&A filters at 20', async () => {
    const me = await searcher(spot())
    const found = await call(
      'GET',
      '/api/v1/search/filters/questions?q=saturday night&items_per_page=5',
      me.token,
    )
    expect(found.status).toBe(200)
    const page = (await found.json()) as {
      data: { id: number; text: string; filter: unknown }[]
      total_count: number
    }
    expect(page.data.length).toBeGreaterThan(0)
    expect(page.data[0]!.text.toLowerCase()).toContain('saturday')

    const put = (q: number, body: unknown = { answer: true, acceptUnanswered: true }) =>
      call('PUT', `/api/v1/search/filters/questions/${q}`, me.token, body)
    for (let q = 1; q <= 20; q++) expect((await put(q)).status, `question ${q}`).toBe(200)
    const over = await put(21)
    expect(over.status).toBe(409)
    expect((await problem(over)).code).toBe('too_many_filters')
    // Changing one of the twenty is fine; removing one makes room.
    expect((await put(5, { answer: false, acceptUnanswered: false })).status).toBe(200)
    expect((await call('DELETE', '/api/v1/search/filters/questions/1', me.token)).status).toBe(204)
    expect((await put(21)).status).toBe(200)

    const listed = (await (
      await call('GET', '/api/v1/search/filters/questions?items_per_page=3', me.token)
    ).json()) as {
      data: { id: number; filter: { answer: boolean; acceptUnanswered: boolean } | null }[]
    }
    expect(listed.data.map((q) => q.id)).toEqual([2, 3, 4])
    expect(listed.data[0]!.filter).toEqual({ answer: true, acceptUnanswered: true })

    expect((await call('DELETE', '/api/v1/search/filters/questions/1', me.token)).status).toBe(404)
    expect((await put(32000)).status).toBe(404)
    expect((await put(0)).status).toBe(422)
    expect((await put(2, { answer: 'yes' })).status).toBe(422)
    expect((await put(2, { answer: true, extra: 1 })).status).toBe(422)
    // Another member's filters are theirs: mine do not show for them, theirs cannot be removed by me.
    const other = await searcher(spot())
    const theirs = (await (await call('GET', '/api/v1/search/filters', other.token)).json()) as {
      questions: unknown[]
    }
    expect(theirs.questions).toEqual([])
    expect((await call('DELETE', '/api/v1/search/filters/questions/2', other.token)).status).toBe(404)
    const mine = (await (await call('GET', '/api/v1/search/filters', me.token)).json()) as {
      questions: unknown[]
    }
    expect(mine.questions).toHaveLength(20)
  })
})

describe('data export', () => {
  it('carries my filters, Q&A filters included', async () => {
    const me = await searcher(spot())
    expect((await patch(me.token, { smoking: ['no'] })).status).toBe(200)
    const put = await call('PUT', '/api/v1/search/filters/questions/3', me.token, { answer: false })
    expect(put.status).toBe(200)
    const issued = await call('POST', '/api/v1/me/export-token', me.token)
    expect(issued.status).toBe(201)
    const { token } = (await issued.json()) as { token: string }
    const data = (await (await call('GET', `/api/v1/me/export/${token}`)).json()) as {
      searchPreferences: { filters: unknown }
      searchAnswerFilters: { questionId: number; answer: boolean; acceptUnanswered: boolean }[]
    }
    expect(data.searchPreferences.filters).toEqual({ smoking: ['no'] })
    expect(data.searchAnswerFilters).toMatchObject([
      { questionId: 3, answer: false, acceptUnanswered: false },
    ])
  })
})

describe('access and limits', () => {
  const routes = [
    ['GET', '/api/v1/search/filters'],
    ['PATCH', '/api/v1/search/filters', { distance: 10 }],
    ['GET', '/api/v1/search/filters/questions'],
    ['PUT', '/api/v1/search/filters/questions/1', { answer: true }],
    ['DELETE', '/api/v1/search/filters/questions/1'],
    ['POST', '/api/v1/search'],
    ['GET', '/api/v1/search'],
    ['GET', '/api/v1/search/quiz'],
  ] as const

  it('answers 401 without a token and 409 before onboarding', async () => {
    const onboarding = await account('member', { status: 'onboarding' })
    for (const [method, path, body] of routes) {
      expect((await call(method, path, undefined, body)).status, `${method} ${path}`).toBe(401)
      const res = await call(method, path, onboarding.token, body)
      expect(res.status, `${method} ${path}`).toBe(409)
      expect((await problem(res)).code).toBe('onboarding_required')
    }
  })

  it('validates paging', async () => {
    const me = await searcher(spot())
    for (const query of ['page=0', 'page=abc', 'items_per_page=11', 'items_per_page=0']) {
      const res = await call('GET', `/api/v1/search?${query}`, me.token)
      expect(res.status, query).toBe(422)
    }
    expect((await call('POST', '/api/v1/search?items_per_page=11', me.token)).status).toBe(422)
  })

  it('limits uncached searches to 15 per 2 minutes on every tier, unless the tier says otherwise', async () => {
    const me = await searcher(spot())
    await clearOfWindowEdge(120, 15_000)
    for (let i = 0; i < 15; i++) expect((await call('POST', '/api/v1/search', me.token)).status).toBe(200)
    const limited = await call('POST', '/api/v1/search', me.token)
    expect(limited.status).toBe(429)
    expect((await problem(limited)).code).toBe('rate_limited')
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThan(0)
    expect(limited.headers.get('RateLimit-Limit')).toBe('15')
    // Paging the built list is not an uncached search.
    expect((await call('GET', '/api/v1/search', me.token)).status).toBe(200)

    // A tier with its own rule for the route gets that instead.
    const [tier] = await db
      .insert(tiers)
      .values({ name: `search-${tag()}` })
      .returning()
    const { createRule } = await import('../../../src/services/platform/rate-limit-rules')
    await createRule(s, tier!.name, {
      name: 'search',
      route: 'POST /api/v1/search',
      limit: 2,
      periodSeconds: 60,
    })
    const tiered = await searcher(spot(), { user: { tierId: tier!.id } })
    await clearOfWindowEdge(60, 10_000)
    expect((await call('POST', '/api/v1/search', tiered.token)).status).toBe(200)
    expect((await call('POST', '/api/v1/search', tiered.token)).status).toBe(200)
    expect((await call('POST', '/api/v1/search', tiered.token)).status).toBe(429)
    // Another tier without a rule of its own still has the 15.
    const [plainTier] = await db
      .insert(tiers)
      .values({ name: `plain-${tag()}` })
      .returning()
    const plain = await searcher(spot(), { user: { tierId: plainTier!.id } })
    const res = await call('POST', '/api/v1/search', plain.token)
    expect(res.status).toBe(200)
    expect(res.headers.get('RateLimit-Limit')).toBe('15')
  }, 60_000)
})

describe('ranking over every eligible member', () => {
  it('an anywhere search ranks every member who may appear: the best match far away comes first, past 5,000 nearer ones', async () => {
    // Nobody else in the suite is intersex and in their nineties: the searcher's pool is this test's.
    const at = spot()
    const t = tag()
    const me = await searcher(at, {
      gender: 'woman',
      seeking: ['intersex'],
      age: 95,
      ages: [90, 99],
      distance: null,
    })
    // 5,100 weaker matches (60 %) at my own spot, then one 99 % match on the other side of the world.
    const filler = await db.execute<{ id: string }>(sql`with u as (
        insert into users (email, email_display, name, role, status)
        select 'fill-' || i || '-' || ${t} || '@example.org', 'fill-' || i || '-' || ${t} || '@example.org',
          'Filler', 'member', 'active'
        from generate_series(1, 5100) i
        returning id
      ), p as (
        insert into profiles (user_id, url_slug, date_of_birth, latitude, longitude, gender, seeking_genders,
          personality, onboarded_at)
        select id, 'fill-' || id, ${yearsAgo(94)}::date, ${at.latitude}, ${at.longitude}, 'intersex',
          '{woman}', ${`{${scaled(0.2).join(',')}}`}::real[], now()
        from u
        returning user_id
      )
      insert into search_preferences (user_id, genders, min_age, max_age, max_distance_km)
      select user_id, '{woman}', 90, 99, null from p
      returning user_id as id`)
    try {
      expect(filler.rows).toHaveLength(5100)
      const faraway = await person({
        at: { latitude: -at.latitude, longitude: at.longitude > 0 ? at.longitude - 180 : at.longitude + 180 },
        gender: 'intersex',
        age: 94,
        seeking: ['woman'],
        ages: [90, 99],
        distance: null,
        profile: { personality: unit },
      })
      const first = await call('POST', '/api/v1/search', me.token)
      expect(first.status).toBe(200)
      const page = (await first.json()) as SearchPage
      expect(page.total_count).toBe(500)
      expect(page.data[0]).toMatchObject({ id: faraway.id, position: 1, matchPercentage: 99 })
      expect(page.data[1]!.matchPercentage).toBe(60)

      // The whole list is the exact top 500 of the ranking (the definition, read the plain way).
      const { rows: ctxRows } = await db.execute(searcherContextQuery(me.id))
      const exact = await db.execute<{ user_id: string }>(exactRankingQuery(parseSearchContext(ctxRows[0])!))
      const list = await db
        .select({ id: searchResults.prospectId })
        .from(searchResults)
        .where(eq(searchResults.searcherId, me.id))
        .orderBy(searchResults.position)
      expect(list.map((r) => r.id)).toEqual(exact.rows.map((r) => r.user_id))
    } finally {
      await db.execute(sql`delete from users where email like ${`fill-%-${t}@example.org`}`)
    }
  }, 60_000)

  it('keeps the copies of photos and preferences that searches read on the profile row', async () => {
    const at = spot()
    const m = await person({ at, distance: 70, ages: [26, 34], seeking: ['woman', 'non-binary'] })
    const copy = async () =>
      (
        await db
          .select({
            hasPhoto: profiles.hasPhoto,
            genders: profiles.wantsGenders,
            min: profiles.wantsMinAge,
            max: profiles.wantsMaxAge,
            km: profiles.wantsMaxDistanceKm,
          })
          .from(profiles)
          .where(eq(profiles.userId, m.id))
      )[0]!
    expect(await copy()).toEqual({
      hasPhoto: false,
      genders: ['woman', 'non-binary'],
      min: 26,
      max: 34,
      km: 70,
    })

    // The filter routes change the preferences; the copy follows.
    expect((await patch(m.token, { distance: null })).status).toBe(200)
    expect((await patch(m.token, { age: { min: 20, max: 34 } })).status).toBe(200)
    expect(await copy()).toMatchObject({ min: 20, km: null })

    // A photo at a position > 0 counts; moving it through negative positions (a reorder) and back keeps it.
    const photoId = 'ab'.repeat(32)
    await db.insert(photos).values({
      id: photoId,
      userId: m.id,
      position: 1,
      blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
      width: 900,
      height: 900,
      contentHash: tag(),
    })
    expect((await copy()).hasPhoto).toBe(true)
    await db.update(photos).set({ position: -1 }).where(eq(photos.id, photoId))
    expect((await copy()).hasPhoto).toBe(false)
    await db.update(photos).set({ position: 2 }).where(eq(photos.id, photoId))
    expect((await copy()).hasPhoto).toBe(true)
    await db.delete(photos).where(eq(photos.id, photoId))
    expect((await copy()).hasPhoto).toBe(false)

    // Without a preferences row the member wants no one (and so appears in no mutual search).
    await db.delete(searchPreferences).where(eq(searchPreferences.userId, m.id))
    expect(await copy()).toMatchObject({ genders: null, min: null, max: null, km: null })
  })

  it('a rebuild takes two sequential round trips to the database, a cached page one', async () => {
    const at = spot()
    const me = await searcher(at)
    await person({ at })
    const requests: string[] = []
    const original = neonConfig.fetchFunction
    neonConfig.fetchFunction = (url: string, init?: RequestInit) => {
      if (typeof init?.body === 'string' && init.body.includes(me.id)) requests.push(init.body)
      return fetch(url, init)
    }
    let transactions = 0
    const counted: typeof s = {
      ...s,
      database: {
        ...s.database,
        transaction: (fn) => {
          transactions++
          return s.database.transaction(fn)
        },
      },
    }
    try {
      const first = await rebuildSearch(counted, me.id, 10)
      expect(first.total_count).toBe(1)
      expect({ httpRequests: requests.length, webSocketTransactions: transactions }).toEqual({
        httpRequests: 2,
        webSocketTransactions: 0,
      })
      requests.length = 0
      const second = await searchPage(counted, me.id, { page: 1, items_per_page: 10 })
      expect(second.data.map((r) => r.id)).toEqual(first.data.map((r) => r.id))
      expect({ httpRequests: requests.length, webSocketTransactions: transactions }).toEqual({
        httpRequests: 1,
        webSocketTransactions: 0,
      })
    } finally {
      neonConfig.fetchFunction = original
    }
  })
})
