import { and, eq, inArray, or } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { moderationTokens, searchResults, skips, users } from '../../../src/db/schema'
import { consumeLimit } from '../../../src/services/platform/rate-limit'
import { reportLimits } from '../../../src/services/moderation/skips'
import { account, call, member } from '../fixtures'
import { problem, services } from '../helpers'

const s = services()
const db = s.database.db

const skipRow = async (subjectId: string, objectId: string) =>
  (
    await db
      .select()
      .from(skips)
      .where(and(eq(skips.subjectId, subjectId), eq(skips.objectId, objectId)))
  )[0]

async function expectProblem(res: Response, status: number, code: string, path?: string) {
  expect(res.status).toBe(status)
  const body = await problem(res)
  expect(body.code).toBe(code)
  if (path) expect(body.errors?.map((e) => e.path)).toContain(path)
  return body
}

describe('POST /api/v1/skips/{memberId}', () => {
  it('skips: 201, hidden from the skipped member, both removed from each other’s search results', async () => {
    const [me, them, other] = await Promise.all([member(), member(), member()])
    await db.insert(searchResults).values([
      { searcherId: me.id, position: 1, prospectId: them.id, matchPercentage: 80 },
      { searcherId: me.id, position: 2, prospectId: other.id, matchPercentage: 70 },
      { searcherId: them.id, position: 1, prospectId: me.id, matchPercentage: 80 },
      { searcherId: other.id, position: 1, prospectId: them.id, matchPercentage: 60 },
    ])
    // Before: they can open my profile.
    expect((await call('GET', `/api/v1/profiles/${me.id}`, them.token)).status).toBe(200)

    const res = await call('POST', `/api/v1/skips/${them.id}`, me.token)
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({ memberId: them.id, reported: false, reportReason: null })
    expect(await skipRow(me.id, them.id)).toMatchObject({ reported: false, reportReason: null })

    expect((await call('GET', `/api/v1/profiles/${me.id}`, them.token)).status).toBe(404)
    const left = await db
      .select({ searcher: searchResults.searcherId, prospect: searchResults.prospectId })
      .from(searchResults)
      .where(inArray(searchResults.searcherId, [me.id, them.id, other.id]))
    expect(left).toEqual(
      expect.arrayContaining([
        { searcher: me.id, prospect: other.id },
        { searcher: other.id, prospect: them.id },
      ]),
    )
    expect(left).toHaveLength(2)
  })

  it('is idempotent: skipping again is 200 and changes nothing', async () => {
    const [me, them] = await Promise.all([member(), member()])
    expect((await call('POST', `/api/v1/skips/${them.id}`, me.token)).status).toBe(201)
    const first = await skipRow(me.id, them.id)
    const again = await call('POST', `/api/v1/skips/${them.id}`, me.token)
    expect(again.status).toBe(200)
    expect(await skipRow(me.id, them.id)).toEqual(first)
  })

  it('turns an existing skip into a report; a second report keeps the first reason', async () => {
    const [me, them] = await Promise.all([member(), member()])
    expect((await call('POST', `/api/v1/skips/${them.id}`, me.token)).status).toBe(201)
    const res = await call('POST', `/api/v1/skips/${them.id}`, me.token, {
      reportReason: '  Rude messages  ',
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ reported: true, reportReason: 'Rude messages' })
    expect(await skipRow(me.id, them.id)).toMatchObject({ reported: true, reportReason: 'Rude messages' })
    // The report created the moderation links (two bans; no photos here).
    const tokens = await db.select().from(moderationTokens).where(eq(moderationTokens.reporterId, me.id))
    expect(tokens.map((t) => [t.action, t.targetUserId]).sort()).toEqual(
      [
        ['ban', me.id],
        ['ban', them.id],
      ].sort(),
    )
  })

  it('refuses my own id (422), unknown, deleted and not-yet-onboarded members (404), bad ids (422)', async () => {
    const [me, gone, drafting] = await Promise.all([
      member(),
      member({ user: { deletedAt: new Date() } }),
      account(),
    ])
    await expectProblem(
      await call('POST', `/api/v1/skips/${me.id}`, me.token),
      422,
      'validation_failed',
      'param.memberId',
    )
    await expectProblem(
      await call('POST', `/api/v1/skips/${crypto.randomUUID()}`, me.token),
      404,
      'not_found',
    )
    await expectProblem(await call('POST', `/api/v1/skips/${gone.id}`, me.token), 404, 'not_found')
    await expectProblem(await call('POST', `/api/v1/skips/${drafting.id}`, me.token), 404, 'not_found')
    await expectProblem(
      await call('POST', '/api/v1/skips/not-a-uuid', me.token),
      422,
      'validation_failed',
      'param.memberId',
    )
    expect(await db.select().from(skips).where(eq(skips.subjectId, me.id))).toEqual([])
  })

  it('validates the report reason (1–10 000 characters, nothing else in the body)', async () => {
    const [me, them] = await Promise.all([member(), member()])
    for (const body of [
      { reportReason: '' },
      { reportReason: '   ' },
      { reportReason: 'x'.repeat(10_001) },
    ]) {
      await expectProblem(
        await call('POST', `/api/v1/skips/${them.id}`, me.token, body),
        422,
        'validation_failed',
        'json.reportReason',
      )
    }
    await expectProblem(
      await call('POST', `/api/v1/skips/${them.id}`, me.token, { reason: 'x' }),
      422,
      'validation_failed',
    )
    await expectProblem(
      await call('POST', `/api/v1/skips/${them.id}`, me.token, '{"reportReason":'),
      400,
      'malformed_body',
    )
    expect(await skipRow(me.id, them.id)).toBeUndefined()
    const longest = await call('POST', `/api/v1/skips/${them.id}`, me.token, {
      reportReason: 'x'.repeat(10_000),
    })
    expect(longest.status).toBe(201)
  })

  it('needs a signed-in, onboarded member (401, 409)', async () => {
    const them = await member()
    await expectProblem(await call('POST', `/api/v1/skips/${them.id}`), 401, 'unauthorized')
    const onboarding = await account('member', { status: 'onboarding' })
    await expectProblem(
      await call('POST', `/api/v1/skips/${them.id}`, onboarding.token),
      409,
      'onboarding_required',
    )
  })

  it('limits reports to one per 5 s (429 with Retry-After; nothing written); plain skips are not limited', async () => {
    const [me, a, b, c] = await Promise.all([member(), member(), member(), member()])
    const first = await call('POST', `/api/v1/skips/${a.id}`, me.token, { reportReason: 'Spam' })
    expect(first.status).toBe(201)
    expect(first.headers.get('RateLimit-Limit')).toBeTruthy()
    const second = await call('POST', `/api/v1/skips/${b.id}`, me.token, { reportReason: 'Spam' })
    const body = await expectProblem(second, 429, 'rate_limited')
    expect(body.detail).toMatch(/report-burst/)
    expect(Number(second.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1)
    expect(Number(second.headers.get('Retry-After'))).toBeLessThanOrEqual(5)
    expect(await skipRow(me.id, b.id)).toBeUndefined()
    // A skip without a reason is not a report.
    expect((await call('POST', `/api/v1/skips/${c.id}`, me.token)).status).toBe(201)
  })

  it('limits reports to 20 a day per reporter', async () => {
    const [me, them] = await Promise.all([member(), member()])
    const daily = reportLimits.find((r) => r.name === 'report-daily')!
    expect(daily).toMatchObject({ limit: 20, periodSeconds: 86_400 })
    for (let i = 0; i < 20; i++) await consumeLimit(s, daily, `user:${me.id}`)
    const res = await call('POST', `/api/v1/skips/${them.id}`, me.token, { reportReason: 'Fake' })
    expect((await expectProblem(res, 429, 'rate_limited')).detail).toMatch(/report-daily/)
    expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(5)
    expect(await skipRow(me.id, them.id)).toBeUndefined()
  })
})

describe('DELETE /api/v1/skips/{memberId}', () => {
  it('deletes only my skip: theirs of me stays (and then mine is 404)', async () => {
    const [me, them] = await Promise.all([member(), member()])
    await call('POST', `/api/v1/skips/${them.id}`, me.token)
    await call('POST', `/api/v1/skips/${me.id}`, them.token)
    const res = await call('DELETE', `/api/v1/skips/${them.id}`, me.token)
    expect(res.status).toBe(204)
    expect(await skipRow(me.id, them.id)).toBeUndefined()
    expect(await skipRow(them.id, me.id)).toBeDefined()
    // Their skip of me still hides them from me.
    expect((await call('GET', `/api/v1/profiles/${them.id}`, me.token)).status).toBe(404)
    await expectProblem(await call('DELETE', `/api/v1/skips/${them.id}`, me.token), 404, 'not_found')
  })

  it('answers 404 for someone else’s skip, 422 for a bad id, 401 without a token', async () => {
    const [me, a, b] = await Promise.all([member(), member(), member()])
    await call('POST', `/api/v1/skips/${b.id}`, a.token)
    await expectProblem(await call('DELETE', `/api/v1/skips/${b.id}`, me.token), 404, 'not_found')
    expect(await skipRow(a.id, b.id)).toBeDefined()
    await expectProblem(
      await call('DELETE', '/api/v1/skips/xyz', me.token),
      422,
      'validation_failed',
      'param.memberId',
    )
    await expectProblem(await call('DELETE', `/api/v1/skips/${b.id}`), 401, 'unauthorized')
  })
})

describe('GET /api/v1/me/skips', () => {
  it('lists whom I skipped, newest first, paged; not who skipped me', async () => {
    const me = await member()
    const others = await Promise.all([
      member({ name: 'Ana' }),
      member({ name: 'Bo' }),
      member({ name: 'Cy' }),
    ])
    for (const [i, other] of others.entries()) {
      await db.insert(skips).values({
        subjectId: me.id,
        objectId: other.id,
        reported: i === 2,
        reportReason: i === 2 ? 'Spam' : null,
        createdAt: new Date(Date.now() - (3 - i) * 60_000),
      })
    }
    const skipper = await member()
    await db.insert(skips).values({ subjectId: skipper.id, objectId: me.id })

    const page1 = await call('GET', '/api/v1/me/skips?items_per_page=2', me.token)
    expect(page1.status).toBe(200)
    const body1 = (await page1.json()) as {
      data: { memberId: string; name: string }[]
      total_count: number
      has_more: boolean
    }
    expect(body1.total_count).toBe(3)
    expect(body1.has_more).toBe(true)
    expect(body1.data.map((r) => r.name)).toEqual(['Cy', 'Bo'])
    expect(body1.data[0]).toMatchObject({
      memberId: others[2]!.id,
      reported: true,
      reportReason: 'Spam',
      urlSlug: others[2]!.profile.urlSlug,
    })
    const page2 = (await (
      await call('GET', '/api/v1/me/skips?items_per_page=2&page=2', me.token)
    ).json()) as {
      data: { name: string }[]
      has_more: boolean
    }
    expect(page2.data.map((r) => r.name)).toEqual(['Ana'])
    expect(page2.has_more).toBe(false)
  })

  it('validates paging (422) and needs a token (401)', async () => {
    const me = await member()
    await expectProblem(
      await call('GET', '/api/v1/me/skips?page=0', me.token),
      422,
      'validation_failed',
      'query.page',
    )
    await expectProblem(await call('GET', '/api/v1/me/skips'), 401, 'unauthorized')
  })

  it('leaves soft-deleted members out', async () => {
    const [me, them] = await Promise.all([member(), member()])
    await call('POST', `/api/v1/skips/${them.id}`, me.token)
    await db.update(users).set({ deletedAt: new Date() }).where(eq(users.id, them.id))
    const body = (await (await call('GET', '/api/v1/me/skips', me.token)).json()) as { total_count: number }
    expect(body.total_count).toBe(0)
    // The row itself is kept (restoring the account restores the skip).
    expect(
      await db
        .select()
        .from(skips)
        .where(or(eq(skips.subjectId, me.id))),
    ).toHaveLength(1)
  })
})
