import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { answers, profiles, questions as questionsTable, skips } from '../../../src/db/schema'
import { presenceAbsence, questions, traitKeys } from '../../../scripts/personality-data'
import { account, call, member } from '../fixtures'
import { problem, services } from '../helpers'

const s = services()

const answer = (token: string | undefined, id: number | string, body: unknown) =>
  call('PUT', `/api/v1/answers/${id}`, token, body)

/** docs/personality.md §5, written out again here so the service is checked against an independent version. */
function expectedVector(given: Record<number, boolean>): number[] {
  const p = traitKeys.map(() => 0)
  const a = traitKeys.map(() => 0)
  let n = 0
  for (const [id, yes] of Object.entries(given)) {
    const pa = presenceAbsence(questions.find((q) => q.id === Number(id))!)
    const [pp, aa] = yes ? [pa.presenceGivenYes, pa.absenceGivenYes] : [pa.presenceGivenNo, pa.absenceGivenNo]
    pp.forEach((x, i) => (p[i]! += x))
    aa.forEach((x, i) => (a[i]! += x))
    n++
  }
  const v = p.map((x, i) => (x + a[i]! === 0 ? 0 : (2 * x) / (x + a[i]!) - 1))
  v.push(1e-5)
  const norm = Math.hypot(...v)
  const w = Math.min(1, Math.max(0, Math.log(Math.log(n + 1) + 1) / Math.log(Math.log(251) + 1)))
  return v.map((x) => (x / norm) * w)
}

async function stored(userId: string) {
  const [row] = await s.database.db.select().from(profiles).where(eq(profiles.userId, userId))
  return row!
}

async function counts(id: number) {
  const [row] = await s.database.db
    .select({ yes: questionsTable.countYes, no: questionsTable.countNo })
    .from(questionsTable)
    .where(eq(questionsTable.id, id))
  return row!
}

function expectClose(actual: number[] | null, expected: number[]) {
  expect(actual).not.toBeNull()
  expect(actual!.length).toBe(expected.length)
  actual!.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 5))
}

describe('answering questions', () => {
  it('moves the personality vector as docs/personality.md computes it', async () => {
    const me = await member()
    const given: Record<number, boolean> = {}
    for (const [id, yes] of [
      [1, true],
      [2, false],
      [3, true],
      [40, false],
    ] as const) {
      const res = await answer(me.token, id, { answer: yes, public: false })
      expect(res.status).toBe(200)
      given[id] = yes
      const body = await res.json<{ answer: boolean; answerCount: number; personality: unknown[] }>()
      expect(body).toMatchObject({
        questionId: id,
        answer: yes,
        public: false,
        answerCount: Object.keys(given).length,
      })
      expect(body.personality).toHaveLength(traitKeys.length)
      expectClose((await stored(me.id)).personality, expectedVector(given))
    }
    // Changing an answer recomputes from scratch.
    expect((await answer(me.token, 2, { answer: true, public: true })).status).toBe(200)
    given[2] = true
    const row = await stored(me.id)
    expect(row.answerCount).toBe(4)
    expectClose(row.personality, expectedVector(given))
  })

  it('keeps yes/no counts right through changes, skips and removals', async () => {
    const me = await member()
    const id = 7
    const before = await counts(id)
    await answer(me.token, id, { answer: true, public: false })
    expect(await counts(id)).toEqual({ yes: before.yes + 1, no: before.no })
    await answer(me.token, id, { answer: false, public: false })
    expect(await counts(id)).toEqual({ yes: before.yes, no: before.no + 1 })
    await answer(me.token, id, { answer: null, public: false })
    expect(await counts(id)).toEqual(before)
    await answer(me.token, id, { answer: true, public: false })
    const del = await call('DELETE', `/api/v1/answers/${id}`, me.token)
    expect(del.status).toBe(200)
    expect(await counts(id)).toEqual(before)
    expect((await call('DELETE', `/api/v1/answers/${id}`, me.token)).status).toBe(404)
  })

  it('does not count skipped answers', async () => {
    const me = await member()
    const res = await answer(me.token, 3, { answer: null, public: true })
    expect(await res.json()).toMatchObject({ answer: null, answerCount: 0 })
    const row = await stored(me.id)
    expect(row.personality).toBeNull()
    expect(row.answerCount).toBe(0)
    await answer(me.token, 4, { answer: true, public: true })
    const after = await stored(me.id)
    expect(after.answerCount).toBe(1)
    expectClose(after.personality, expectedVector({ 4: true }))
  })

  it('rejects bad bodies, unknown or retired questions, strangers and onboardees', async () => {
    const me = await member()
    for (const body of [
      { answer: 'yes', public: false },
      { answer: true },
      { answer: true, public: false, x: 1 },
    ]) {
      const res = await answer(me.token, 1, body)
      expect(res.status).toBe(422)
      expect((await problem(res)).errors?.length).toBeGreaterThan(0)
    }
    const bad = await answer(me.token, 1, { answer: 1, public: false })
    expect((await problem(bad)).errors?.[0]?.path).toContain('answer')
    expect((await answer(me.token, 'abc', { answer: true, public: false })).status).toBe(422)
    expect((await answer(me.token, 30000, { answer: true, public: false })).status).toBe(404)
    // A retired question of this file's own (ids far above the bank's), removed again afterwards.
    const [retired] = await s.database.db
      .insert(questionsTable)
      .values({
        id: 31000,
        text: `Retired ${crypto.randomUUID()}`,
        topic: 'other',
        presenceGivenYes: traitKeys.map(() => 0),
        absenceGivenYes: traitKeys.map(() => 0),
        presenceGivenNo: traitKeys.map(() => 0),
        absenceGivenNo: traitKeys.map(() => 0),
        retired: true,
      })
      .returning()
    try {
      const res = await answer(me.token, retired!.id, { answer: true, public: false })
      expect(res.status).toBe(404)
      expect((await problem(res)).code).toBe('not_found')
      const next = await (
        await call('GET', '/api/v1/questions/next?items_per_page=50', me.token)
      ).json<{
        total_count: number
      }>()
      expect(next.total_count).toBe(questions.filter((q) => !q.retired).length)
    } finally {
      await s.database.db.delete(questionsTable).where(eq(questionsTable.id, retired!.id))
    }
    expect((await call('GET', '/api/v1/me/personality')).status).toBe(401)
    expect((await call('DELETE', '/api/v1/answers/1')).status).toBe(401)
    expect((await answer(undefined, 1, { answer: true, public: false })).status).toBe(401)
    const onboardee = await account('member', { status: 'onboarding' })
    const res = await answer(onboardee.token, 1, { answer: true, public: false })
    expect(res.status).toBe(409)
    expect((await problem(res)).code).toBe('onboarding_required')
  })

  it("only ever changes the caller's own answers (BOLA)", async () => {
    const me = await member()
    const other = await member()
    await answer(other.token, 5, { answer: true, public: false })
    await answer(me.token, 5, { answer: false, public: true })
    expect((await call('DELETE', '/api/v1/answers/6', me.token)).status).toBe(404)
    const theirs = await s.database.db.select().from(answers).where(eq(answers.userId, other.id))
    expect(theirs).toMatchObject([{ questionId: 5, answer: true, isPublic: false }])
    await call('DELETE', '/api/v1/answers/5', me.token)
    expect(await s.database.db.select().from(answers).where(eq(answers.userId, other.id))).toHaveLength(1)
  })
})

describe('question lists', () => {
  it('offers 1–10 first, then a stable per-member shuffle without answered questions', async () => {
    const me = await member()
    const other = await member()
    const page = async (token: string, n: number) =>
      await (
        await call('GET', `/api/v1/questions/next?page=${n}&items_per_page=50`, token)
      ).json<{
        data: { id: number }[]
        total_count: number
      }>()
    const first = await page(me.token, 1)
    expect(first.data.slice(0, 10).map((q) => q.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    const rest = first.data.slice(10).map((q) => q.id)
    expect(rest).not.toEqual([...rest].sort((x, y) => x - y))
    expect((await page(me.token, 1)).data.map((q) => q.id)).toEqual(first.data.map((q) => q.id))
    expect((await page(other.token, 1)).data.slice(10).map((q) => q.id)).not.toEqual(rest)
    expect(first.total_count).toBe(questions.filter((q) => !q.retired).length)

    await answer(me.token, 2, { answer: true, public: false })
    await answer(me.token, rest[0]!, { answer: null, public: false })
    const after = await page(me.token, 1)
    expect(after.total_count).toBe(first.total_count - 2)
    // The same order with the two answered questions taken out (and two more moved up at the end).
    const expected = first.data.map((q) => q.id).filter((id) => id !== 2 && id !== rest[0])
    expect(after.data.slice(0, 48).map((q) => q.id)).toEqual(expected)
    // Pages cover every question once.
    const seen = new Set<number>()
    for (let n = 1; n <= Math.ceil(after.total_count / 50); n++)
      for (const q of (await page(me.token, n)).data) seen.add(q.id)
    expect(seen.size).toBe(after.total_count)
    expect((await call('GET', '/api/v1/questions/next?items_per_page=51', me.token)).status).toBe(422)
    expect((await call('GET', '/api/v1/questions/next')).status).toBe(401)
  })

  it('serves the public quiz in id order, cacheably, to anyone', async () => {
    const res = await call('GET', '/api/v1/questions/public?page=2&items_per_page=5')
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toMatch(/^public/)
    const body = await res.json<{ data: { id: number; text: string }[] }>()
    expect(body.data.map((q) => q.id)).toEqual([6, 7, 8, 9, 10])
    expect(body.data[0]!.text).toBe(questions[5]!.text)
    expect((await call('GET', '/api/v1/questions/public?page=0')).status).toBe(422)
  })
})

describe('personality and comparisons', () => {
  it('shows a trait only once there is enough evidence', async () => {
    const me = await member()
    const traits = async () =>
      (
        await (
          await call('GET', '/api/v1/me/personality', me.token)
        ).json<{
          personality: { key: string; percentage: number | null }[]
        }>()
      ).personality
    expect((await traits()).every((t) => t.percentage === null)).toBe(true)
    // Extraversion questions with strong weights: yes to all of them pushes the trait.
    const strong = questions.filter((q) => (q.effects.extraversion ?? 0) >= 0.6).slice(0, 4)
    let total = 0
    for (const q of strong) {
      await answer(me.token, q.id, { answer: true, public: false })
      total += q.effects.extraversion!
      const extraversion = (await traits()).find((t) => t.key === 'extraversion')!
      if (total < 2.0) expect(extraversion.percentage).toBeNull()
    }
    expect(total).toBeGreaterThanOrEqual(2.0)
    expect((await traits()).find((t) => t.key === 'extraversion')!.percentage).toBe(100)
  })

  it('gives a symmetric match % in [0, 99] and hides the comparison from people who cannot see the profile', async () => {
    const a = await member()
    const b = await member()
    const cmp = async (from: string, to: string, query = '') =>
      call('GET', `/api/v1/profiles/${to}/personality${query}`, from)
    expect((await (await cmp(a.token, b.id)).json<{ matchPercentage: null }>()).matchPercentage).toBeNull()
    const givenA: Record<number, boolean> = {}
    const givenB: Record<number, boolean> = {}
    for (const id of [1, 2, 3, 4, 5, 6]) {
      givenA[id] = id % 2 === 0
      givenB[id] = id % 3 === 0
      await answer(a.token, id, { answer: givenA[id], public: false })
      await answer(b.token, id, { answer: givenB[id], public: false })
    }
    const va = expectedVector(givenA)
    const vb = expectedVector(givenB)
    const dot = va.reduce((sum, x, i) => sum + x * vb[i]!, 0)
    const ab = await (
      await cmp(a.token, b.id)
    ).json<{ matchPercentage: number; traits: { topic: string }[] }>()
    const ba = await (
      await cmp(b.token, a.profile.urlSlug!)
    ).json<{
      matchPercentage: number
    }>()
    expect(ab.matchPercentage).toBe(Math.round((100 * (1 + dot)) / 2))
    expect(ab.matchPercentage).toBe(ba.matchPercentage)
    expect(ab.matchPercentage).toBeGreaterThanOrEqual(0)
    expect(ab.matchPercentage).toBeLessThanOrEqual(99)
    const values = await (await cmp(a.token, b.id, '?topic=values')).json<{ traits: { topic: string }[] }>()
    expect(values.traits.length).toBeGreaterThan(0)
    expect(values.traits.every((t) => t.topic === 'values')).toBe(true)
    expect((await cmp(a.token, b.id, '?topic=nope')).status).toBe(422)

    await s.database.db.insert(skips).values({ subjectId: b.id, objectId: a.id })
    const hidden = await cmp(a.token, b.id)
    expect(hidden.status).toBe(404)
    expect((await call('GET', `/api/v1/profiles/${b.id}/answers`, a.token)).status).toBe(404)
    expect((await cmp(a.token, crypto.randomUUID())).status).toBe(404)
    const careful = await member({ profile: { privacyVerificationLevel: 'basics' } })
    const refused = await cmp(a.token, careful.id)
    expect(refused.status).toBe(403)
    expect((await problem(refused)).code).toBe('verification_required')
    expect((await call('GET', `/api/v1/profiles/${careful.id}/answers`, a.token)).status).toBe(403)
    expect((await call('GET', `/api/v1/profiles/${b.id}/personality`)).status).toBe(401)
  })

  it('compares answers by agreement and topic, never showing a private answer', async () => {
    const me = await member()
    const them = await member()
    const values = questions
      .filter((q) => q.topic === 'values')
      .slice(0, 2)
      .map((q) => q.id)
    const other = questions
      .filter((q) => q.topic === 'other')
      .slice(0, 3)
      .map((q) => q.id)
    // agree (public), disagree (public), private (shown as unanswered), only mine, only theirs.
    await answer(me.token, values[0]!, { answer: true, public: false })
    await answer(them.token, values[0]!, { answer: true, public: true })
    await answer(me.token, values[1]!, { answer: true, public: false })
    await answer(them.token, values[1]!, { answer: false, public: true })
    await answer(me.token, other[0]!, { answer: true, public: false })
    await answer(them.token, other[0]!, { answer: true, public: false })
    await answer(me.token, other[1]!, { answer: false, public: false })
    await answer(them.token, other[2]!, { answer: false, public: true })

    type Row = { question: { id: number }; mine: boolean | null; theirs: boolean | null }
    const list = async (query: string) =>
      await (
        await call('GET', `/api/v1/profiles/${them.id}/answers?${query}`, me.token)
      ).json<{
        data: Row[]
        total_count: number
      }>()
    const all = await list('')
    expect(all.total_count).toBe(5)
    expect(all.data.find((r) => r.question.id === other[0])).toEqual(
      expect.objectContaining({ mine: true, theirs: null }),
    )
    expect((await list('agreement=agree')).data.map((r) => r.question.id)).toEqual([values[0]])
    expect((await list('agreement=disagree')).data.map((r) => r.question.id)).toEqual([values[1]])
    expect((await list('agreement=unanswered')).data.map((r) => r.question.id).sort((x, y) => x - y)).toEqual(
      [other[0]!, other[1]!, other[2]!].sort((x, y) => x - y),
    )
    expect((await list('topic=values')).total_count).toBe(2)
    expect((await list('topic=values&agreement=unanswered')).total_count).toBe(0)
    const paged = await list('items_per_page=2&page=3')
    expect(paged).toMatchObject({ total_count: 5, data: [expect.anything()] })
    expect((await list('items_per_page=2&page=9')).total_count).toBe(5)
    expect((await call('GET', `/api/v1/profiles/${them.id}/answers?agreement=maybe`, me.token)).status).toBe(
      422,
    )
    // Their private answer never shows from their side either when I look.
    const privateOnly = all.data.filter((r) => r.theirs !== null).map((r) => r.question.id)
    expect(privateOnly).not.toContain(other[0])
  })
})
