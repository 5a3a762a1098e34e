import { and, asc, desc, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { answers, clubs, memberClubs, places, profiles, questions, tiers } from '../../../src/db/schema'
import { post, uniqueEmail } from '../auth-helpers'
import { account, call, member } from '../fixtures'
import { problem, services } from '../helpers'

const s = services()
type Answer = { questionId: number; answer: boolean | null; public: boolean }

/** Sign in through the API carrying quiz answers and/or a pending club. */
async function signInWith(email: string, extras: { answers?: Answer[]; pendingClub?: string }) {
  const started = await post('/api/v1/auth/otp', { email, ...extras })
  expect(started.status, await started.clone().text()).toBe(201)
  const { challengeId } = (await started.json()) as { challengeId: string }
  const verified = await post('/api/v1/auth/otp/verify', { challengeId, code: '000000', client: 'mobile' })
  expect(verified.status).toBe(200)
  return (await verified.json()) as { accessToken: string; user: { id: string; status: string } }
}

async function questionIds(n: number): Promise<number[]> {
  const rows = await s.database.db
    .select({ id: questions.id })
    .from(questions)
    .where(eq(questions.retired, false))
    .orderBy(asc(questions.id))
    .limit(n)
  return rows.map((r) => r.id)
}

async function storedAnswers(userId: string) {
  return s.database.db
    .select({ questionId: answers.questionId, answer: answers.answer, public: answers.isPublic })
    .from(answers)
    .where(eq(answers.userId, userId))
    .orderBy(asc(answers.questionId))
}

async function onboard(token: string) {
  const [place] = await s.database.db
    .select({ label: places.label })
    .from(places)
    .where(eq(places.countryCode, 'AU'))
    .orderBy(desc(places.population))
    .limit(1)
  for (const field of [
    { name: 'Quinn' },
    { dateOfBirth: '1992-08-01' },
    { location: place!.label },
    { gender: 'woman' },
    { seekingGenders: ['man'] },
  ]) {
    expect((await call('PATCH', '/api/v1/onboarding', token, field)).status).toBe(200)
  }
  const finished = await call('POST', '/api/v1/onboarding/finish', token)
  expect(finished.status).toBe(201)
}

const clubSize = async (name: string) =>
  (await s.database.db.select().from(clubs).where(eq(clubs.name, name)))[0]?.memberCount

describe('public quiz answers kept on sign-up', () => {
  it('a new member keeps their answers and pending club; both count once onboarding finishes', async () => {
    const [q1, q2, q3] = await questionIds(3)
    const club = `quiz club ${crypto.randomUUID().slice(0, 8)}`
    const quiz: Answer[] = [
      { questionId: q1!, answer: true, public: true },
      { questionId: q2!, answer: false, public: false },
      { questionId: q3!, answer: null, public: false },
      { questionId: 32000, answer: true, public: false }, // no such question: dropped
    ]
    const signedIn = await signInWith(uniqueEmail(), {
      answers: quiz,
      pendingClub: `  ${club.toUpperCase()}`,
    })
    expect(signedIn.user.status).toBe('onboarding')
    const id = signedIn.user.id

    expect(await storedAnswers(id)).toEqual(quiz.slice(0, 3))
    const [membership] = await s.database.db.select().from(memberClubs).where(eq(memberClubs.userId, id))
    expect(membership?.clubName).toBe(club)
    expect(await clubSize(club)).toBe(0)

    await onboard(signedIn.accessToken)
    const [profile] = await s.database.db.select().from(profiles).where(eq(profiles.userId, id))
    expect(profile!.answerCount).toBe(2)
    expect(profile!.personality?.some((x) => x !== 0)).toBe(true)
    const me = await call('GET', '/api/v1/me/personality', signedIn.accessToken)
    expect(((await me.json()) as { answerCount: number }).answerCount).toBe(2)
    expect(await clubSize(club)).toBe(1)
    const mine = await call('GET', '/api/v1/me/clubs', signedIn.accessToken)
    expect(((await mine.json()) as { data: { name: string }[] }).data.map((c) => c.name)).toEqual([club])
  })

  it('an existing member gains new answers at once and keeps the ones they had', async () => {
    const [q1, q2] = await questionIds(2)
    const email = uniqueEmail()
    const me = await member({ user: { email, emailDisplay: email } })
    const had = await call('PUT', `/api/v1/answers/${q1}`, me.token, { answer: false, public: true })
    expect(had.status).toBe(200)

    await signInWith(email, {
      answers: [
        { questionId: q1!, answer: true, public: false },
        { questionId: q2!, answer: true, public: true },
      ],
    })
    expect(await storedAnswers(me.id)).toEqual([
      { questionId: q1!, answer: false, public: true },
      { questionId: q2!, answer: true, public: true },
    ])
    const [profile] = await s.database.db.select().from(profiles).where(eq(profiles.userId, me.id))
    expect(profile!.answerCount).toBe(2)
  })

  it('takes up to 50 answers and validates them and the club before sending a code', async () => {
    const ids = await questionIds(51)
    const fifty = ids.slice(0, 50).map((questionId) => ({ questionId, answer: true, public: false }))
    expect((await post('/api/v1/auth/otp', { email: uniqueEmail(), answers: fifty })).status).toBe(201)

    const cases: [unknown, string][] = [
      [{ answers: ids.map((questionId) => ({ questionId, answer: true, public: false })) }, 'json.answers'],
      [
        {
          answers: [
            { questionId: ids[0], answer: true, public: false },
            { questionId: ids[0], answer: false, public: false },
          ],
        },
        'json.answers',
      ],
      [{ answers: [{ questionId: ids[0], answer: 'yes', public: false }] }, 'json.answers.0.answer'],
      [{ answers: [{ questionId: 0, answer: true, public: false }] }, 'json.answers.0.questionId'],
      [{ answers: [{ questionId: ids[0], answer: true, public: false, extra: 1 }] }, 'json.answers.0'],
      [{ pendingClub: 'two  spaces' }, 'json.pendingClub'],
      [{ pendingClub: 'nazis' }, 'json.pendingClub'],
    ]
    for (const [extras, path] of cases) {
      const email = uniqueEmail()
      const res = await post('/api/v1/auth/otp', { email, ...(extras as object) })
      expect(res.status, JSON.stringify(extras)).toBe(422)
      expect((await problem(res)).errors?.map((e) => e.path)).toContain(path)
    }
  })

  it('a pending club the quota refuses does not stop the sign-in', async () => {
    const admin = await account('admin')
    const tierName = `noclubs-${crypto.randomUUID().slice(0, 8)}`
    await call('POST', '/api/v1/tier', admin.token, { name: tierName, features: { clubQuota: 0 } })
    const [tier] = await s.database.db.select().from(tiers).where(eq(tiers.name, tierName))
    const email = uniqueEmail()
    const me = await member({ user: { email, emailDisplay: email, tierId: tier!.id } })
    const club = `refused ${crypto.randomUUID().slice(0, 8)}`
    const signedIn = await signInWith(email, { pendingClub: club })
    expect(signedIn.user.id).toBe(me.id)
    expect(
      await s.database.db
        .select()
        .from(memberClubs)
        .where(and(eq(memberClubs.userId, me.id), eq(memberClubs.clubName, club))),
    ).toEqual([])
  })
})
