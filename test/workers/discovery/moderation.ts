import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { and, eq, inArray } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { collectGarbageJob } from '../../../cron/collect-garbage'
import {
  bannedPhotoHashes,
  bans,
  conversations,
  jobs,
  messaged,
  messages,
  moderationTokens,
  photos,
  profiles,
  skips,
  storageDeletions,
  tiers,
  users,
} from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import worker from '../../../src/index'
import { fixedClock } from '../../../src/lib/clock'
import { createServices } from '../../../src/services'
import type { JobMessage } from '../../../src/services/platform/jobs'
import {
  describeModerationLink,
  moderationTokenTtlMs,
  signModerationToken,
  useModerationLink,
} from '../../../src/services/moderation/moderation-links'
import { pickReportRecipient, reportEmailJobType } from '../../../src/services/moderation/report-email'
import { botReasonPattern } from '../../../src/services/moderation/reports'
import { account, call, member } from '../fixtures'
import { api, clearMailbox, envWith, mailbox, origin, problem, services } from '../helpers'
import { uniqueIp } from '../auth-helpers'
import { jpeg } from '../images'

const s = services()
const db = s.database.db
const day = 86_400_000

async function expectProblem(res: Response, status: number, code: string, path?: string) {
  expect(res.status).toBe(status)
  const body = await problem(res)
  expect(body.code).toBe(code)
  if (path) expect(body.errors?.map((e) => e.path)).toContain(path)
  return body
}

/** An env whose JOBS queue only records messages, so the test delivers the report email itself. */
function capturingEnv(reportEmails: string) {
  const sent: JobMessage[] = []
  const JOBS = {
    send: async (body: JobMessage) => {
      sent.push(body)
    },
    sendBatch: async () => {},
  }
  return { env: envWith({ JOBS, REPORT_EMAILS: reportEmails }), sent }
}

async function report(reporter: { token: string }, accusedId: string, reason: string, workerEnv: Env) {
  const ctx = createExecutionContext()
  const res = await worker.fetch(
    new Request(`${origin}/api/v1/skips/${accusedId}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${reporter.token}`,
        'CF-Connecting-IP': uniqueIp(),
        'content-type': 'application/json',
      },
      body: JSON.stringify({ reportReason: reason }),
    }),
    workerEnv,
    ctx,
  )
  await waitOnExecutionContext(ctx)
  return res
}

async function deliver(message: JobMessage, workerEnv: Env) {
  const batch = createMessageBatch('rapport-jobs-local', [
    { id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body: message },
  ])
  const ctx = createExecutionContext()
  await worker.queue(batch, workerEnv)
  return getQueueResult(batch, ctx)
}

const linkPattern = /\/api\/v1\/moderation\/([0-9a-f-]{36}\.[0-9a-f]{64})/g

async function addPhoto(userId: string, position: number) {
  const id = [...crypto.getRandomValues(new Uint8Array(32))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('')
  await db.insert(photos).values({
    id,
    userId,
    position,
    blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
    width: 100,
    height: 100,
    contentHash: id.split('').reverse().join(''),
  })
  return id
}

async function tokenFor(targetUserId: string, action: 'ban' | 'delete-photo') {
  const [row] = await db
    .select()
    .from(moderationTokens)
    .where(and(eq(moderationTokens.targetUserId, targetUserId), eq(moderationTokens.action, action)))
  return signModerationToken(s, row!.id)
}

const link = (token: string, method = 'GET', accept = 'application/json') =>
  call(method, `/api/v1/moderation/${token}`, undefined, undefined, { Accept: accept })

describe('the report email', () => {
  it('goes to one moderator with both members, photos with delete links, ban links and the last 25 messages', async () => {
    const moderator = `mod-${crypto.randomUUID().slice(0, 8)}@rapport.test`
    await clearMailbox(moderator)
    const reporter = await member({ name: 'Rita', profile: { about: 'I like hiking and tea' } })
    const accused = await member({
      name: 'Axel',
      profile: { about: 'Totally a real person', dateOfBirth: '1990-01-02', verificationLevel: 'basics' },
    })
    const [p1, p2] = [await addPhoto(accused.id, 1), await addPhoto(accused.id, 2)]
    const [a, b] = [reporter.id, accused.id].sort() as [string, string]
    await db.insert(conversations).values({ memberA: a, memberB: b, lastSeq: 30 })
    await db.insert(messages).values(
      Array.from({ length: 30 }, (_, i) => ({
        memberA: a,
        memberB: b,
        seq: i + 1,
        senderId: i % 2 ? accused.id : reporter.id,
        clientId: `c${i}`,
        body: `message number ${i + 1}`,
        createdAt: new Date(Date.now() - (30 - i) * 60_000),
      })),
    )

    const { env: workerEnv, sent } = capturingEnv(`${moderator}:3`)
    const res = await report(reporter, accused.id, 'Asked me for money <scam>', workerEnv)
    expect(res.status).toBe(201)
    expect(sent).toHaveLength(1)
    expect(sent[0]!.type).toBe(reportEmailJobType)
    await deliver(sent[0]!, workerEnv)

    const [mail, ...more] = await mailbox(moderator)
    expect(more).toEqual([])
    expect(mail!.subject).toBe(`Report: Axel (${accused.id})`)
    const text = mail!.text!
    for (const fact of [
      'Reason: Asked me for money <scam>',
      `id: ${accused.id}`,
      `id: ${reporter.id}`,
      `email: ${accused.emailDisplay}`,
      `email: ${reporter.emailDisplay}`,
      'about: Totally a real person',
      'about: I like hiking and tea',
      `place: ${accused.place.label}`,
      'verification: basics',
      'account age: 0 days',
      `/media/images/900-${p1}.jpg`,
      `/media/images/900-${p2}.jpg`,
    ]) {
      expect(text).toContain(fact)
    }
    expect(text).toMatch(/age: \d{2}\n/)
    // Messages 6–30, oldest first, each marked with its sender.
    expect(text).toContain('Last 25 messages')
    expect(text).not.toContain('message number 5\n')
    expect(text.indexOf('message number 6')).toBeLessThan(text.indexOf('message number 30'))
    expect(text).toMatch(/REPORTER Rita: message number 29/)
    expect(text).toMatch(/ACCUSED Axel: message number 30/)
    // Four links: ban each member, delete each photo; the HTML part links them.
    const links = [...text.matchAll(linkPattern)].map((m) => m[1]!)
    expect(links).toHaveLength(4)
    expect(mail!.html).toContain(`<a href="${origin}/api/v1/moderation/${links[0]}">`)
    expect(mail!.html).toContain('&#60;scam&#62;')
    const described = await Promise.all(
      links.map(async (l) => (await (await link(l)).json()) as { action: string; member: { id: string } }),
    )
    expect(described.map((d) => `${d.action} ${d.member.id}`).sort()).toEqual(
      [
        `ban ${accused.id}`,
        `ban ${reporter.id}`,
        `delete-photo ${accused.id}`,
        `delete-photo ${accused.id}`,
      ].sort(),
    )
    const [job] = await db.select().from(jobs).where(eq(jobs.id, sent[0]!.jobId))
    expect(job).toMatchObject({ status: 'succeeded', result: { sent: true } })
  })

  it('leaves no half-lodged report when the email job cannot be queued (the retry lodges it)', async () => {
    // A trusted reporter (40 days old, photo-verified): a lodged "Spam" report would make the accused verify.
    const [reporter, accused, skipped, reporter2] = await Promise.all([
      member({
        user: { createdAt: new Date(Date.now() - 40 * day) },
        profile: { verificationLevel: 'photos' },
      }),
      member(),
      member(),
      member(),
    ])
    await addPhoto(accused.id, 1)
    const broken = envWith({
      REPORT_EMAILS: 'mod@rapport.test',
      JOBS: {
        send: async () => {
          throw new Error('queue unavailable')
        },
        sendBatch: async () => {},
      },
    })
    expect((await report(reporter, accused.id, 'Spam', broken)).status).toBe(500)
    const pair = (subjectId: string, objectId: string) =>
      db
        .select()
        .from(skips)
        .where(and(eq(skips.subjectId, subjectId), eq(skips.objectId, objectId)))
    expect(await pair(reporter.id, accused.id)).toEqual([])
    // Nor links that were never mailed, nor the automatic rules' effects of a report that did not happen.
    const links = await db
      .select()
      .from(moderationTokens)
      .where(inArray(moderationTokens.targetUserId, [reporter.id, accused.id]))
    expect(links).toEqual([])
    const [flags] = await db
      .select({ required: profiles.verificationRequired })
      .from(profiles)
      .where(eq(profiles.userId, accused.id))
    expect(flags!.required).toBe(false)

    // An existing skip goes back to a plain skip.
    await db.insert(skips).values({ subjectId: reporter2.id, objectId: skipped.id })
    expect((await report(reporter2, skipped.id, 'Spam', broken)).status).toBe(500)
    expect(await pair(reporter2.id, skipped.id)).toMatchObject([{ reported: false, reportReason: null }])
  })

  it('draws the moderator by weight', () => {
    const list = [
      { address: 'a@rapport.test', weight: 3 },
      { address: 'b@rapport.test', weight: 1 },
    ]
    expect(pickReportRecipient(list, 0)).toBe('a@rapport.test')
    expect(pickReportRecipient(list, 0.74)).toBe('a@rapport.test')
    expect(pickReportRecipient(list, 0.75)).toBe('b@rapport.test')
    expect(pickReportRecipient(list, 0.9999)).toBe('b@rapport.test')
    expect(pickReportRecipient([])).toBeNull()
  })

  it('rejects a malformed REPORT_EMAILS as configuration', async () => {
    const ctx = createExecutionContext()
    const bad = await worker.fetch(
      new Request(`${origin}/health`),
      envWith({ REPORT_EMAILS: 'not-an-address:2' }),
      ctx,
    )
    expect(bad.status).toBe(500)
    expect((await problem(bad)).code).toBe('internal_error')
  })
})

describe('moderation links', () => {
  async function reported() {
    const reporter = await member()
    const accused = await member({ name: 'Zed' })
    const res = await call('POST', `/api/v1/skips/${accused.id}`, reporter.token, {
      reportReason: 'Harassment',
    })
    expect(res.status).toBe(201)
    return { reporter, accused }
  }

  it('GET shows the action without doing it (JSON, or a confirm page for browsers)', async () => {
    const { accused } = await reported()
    const token = await tokenFor(accused.id, 'ban')
    const res = await link(token)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      action: 'ban',
      member: { id: accused.id, name: 'Zed', email: accused.emailDisplay },
      photo: null,
      reason: 'Harassment',
    })
    const page = await link(token, 'GET', 'text/html')
    expect(page.headers.get('content-type')).toMatch(/text\/html/)
    const html = await page.text()
    expect(html).toContain('<form method="post">')
    expect(html).toContain('Zed')
    expect(await db.select().from(bans).where(eq(bans.value, accused.email))).toEqual([])
    expect((await call('GET', '/api/v1/me', accused.token)).status).toBe(200)
  })

  it('POST bans the member for a month with the reasons and ends their sessions; a second use is 409', async () => {
    const { accused } = await reported()
    const token = await tokenFor(accused.id, 'ban')
    const res = await link(token, 'POST')
    expect(res.status).toBe(200)
    const body = (await res.json()) as { action: string; memberId: string; banId: string }
    expect(body).toMatchObject({ action: 'ban', memberId: accused.id })
    const [ban] = await db.select().from(bans).where(eq(bans.id, body.banId))
    expect(ban).toMatchObject({ kind: 'email', value: accused.email, createdBy: null, liftedAt: null })
    expect(ban!.reason).toContain('Harassment')
    const length = ban!.expiresAt!.getTime() - ban!.createdAt.getTime()
    expect(Math.abs(length - 30 * day)).toBeLessThan(60_000)
    await expectProblem(await call('GET', '/api/v1/me', accused.token), 401, 'unauthorized')

    await expectProblem(await link(token, 'POST'), 409, 'link_used')
    await expectProblem(await link(token), 409, 'link_used')
    expect(await db.select().from(bans).where(eq(bans.value, accused.email))).toHaveLength(1)
  })

  it('a link to ban an operator answers 403 (documented) and stays usable', async () => {
    const reporter = await member()
    const operator = await member({ user: { role: 'moderator' } })
    const res = await call('POST', `/api/v1/skips/${operator.id}`, reporter.token, { reportReason: 'Rude' })
    expect(res.status).toBe(201)
    const token = await tokenFor(operator.id, 'ban')
    await expectProblem(await link(token, 'POST'), 403, 'forbidden')
    const [row] = await db
      .select({ usedAt: moderationTokens.usedAt })
      .from(moderationTokens)
      .where(eq(moderationTokens.id, token.split('.')[0]!))
    expect(row!.usedAt).toBeNull()
    const spec = (await (await api('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
    }
    expect(Object.keys(spec.paths['/api/v1/moderation/{token}']!.post!.responses)).toContain('403')
  })

  it('a form POST from the confirm page gets an HTML answer', async () => {
    const { reporter } = await reported()
    const token = await tokenFor(reporter.id, 'ban')
    const res = await call('POST', `/api/v1/moderation/${token}`, undefined, '', {
      Accept: 'text/html',
      'content-type': 'application/x-www-form-urlencoded',
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('the member is banned')
    // The reporter-ban link bans the reporter (a reporter can be the abusive one).
    expect(await db.select().from(bans).where(eq(bans.value, reporter.email))).toHaveLength(1)
  })

  it('refuses bad signatures and unknown tokens with 404', async () => {
    const { accused } = await reported()
    const token = await tokenFor(accused.id, 'ban')
    const [id, sig] = token.split('.') as [string, string]
    const flipped = `${id}.${sig[0] === 'a' ? 'b' : 'a'}${sig.slice(1)}`
    for (const bad of [
      flipped,
      id,
      `${id}.`,
      'x'.repeat(10),
      await signModerationToken(s, crypto.randomUUID()),
    ]) {
      await expectProblem(await link(bad), 404, 'not_found')
      await expectProblem(await link(bad, 'POST'), 404, 'not_found')
    }
    expect(await db.select().from(bans).where(eq(bans.value, accused.email))).toEqual([])
  })

  it('expires after a month (410), by the services clock and by the stored expiry', async () => {
    const { accused, reporter } = await reported()
    const token = await tokenFor(accused.id, 'ban')
    const later = createServices(env as Env, {
      clock: fixedClock(new Date(Date.now() + moderationTokenTtlMs + 60_000)),
    })
    await expect(describeModerationLink(later, token)).rejects.toMatchObject({ code: 'link_expired' })
    await expect(useModerationLink(later, token)).rejects.toMatchObject({ code: 'link_expired', status: 410 })
    // Still good just before the month is over.
    const before = createServices(env as Env, {
      clock: fixedClock(new Date(Date.now() + moderationTokenTtlMs - 60_000)),
    })
    expect((await describeModerationLink(before, token)).action).toBe('ban')

    const reporterToken = await tokenFor(reporter.id, 'ban')
    await db
      .update(moderationTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(moderationTokens.id, reporterToken.split('.')[0]!))
    await expectProblem(await link(reporterToken), 410, 'link_expired')
    await expectProblem(await link(reporterToken, 'POST'), 410, 'link_expired')
    expect(
      await db
        .select()
        .from(bans)
        .where(inArray(bans.value, [accused.email, reporter.email])),
    ).toEqual([])
  })

  it('deletes a photo, bans its file so the same upload is refused, and queues its objects', async () => {
    const [reporter, accused] = await Promise.all([member(), member()])
    const bytes = jpeg(160, 160, { quality: 77 })
    const upload = (token: string) =>
      api('/api/v1/me/photos/1', {
        method: 'PUT',
        headers: {
          Authorization: `Bearer ${token}`,
          'CF-Connecting-IP': uniqueIp(),
          'content-type': 'image/jpeg',
        },
        body: bytes,
      })
    expect((await upload(accused.token)).status).toBe(201)
    const [photo] = await db.select().from(photos).where(eq(photos.userId, accused.id))
    expect(
      (await call('POST', `/api/v1/skips/${accused.id}`, reporter.token, { reportReason: 'Nudity' })).status,
    ).toBe(201)

    const token = await tokenFor(accused.id, 'delete-photo')
    const shown = (await (await link(token)).json()) as { photo: { id: string; url: string } }
    expect(shown.photo).toEqual({ id: photo!.id, url: `${origin}/media/images/900-${photo!.id}.jpg` })
    expect((await link(token, 'POST')).status).toBe(200)

    expect(await db.select().from(photos).where(eq(photos.id, photo!.id))).toEqual([])
    expect(
      await db.select().from(bannedPhotoHashes).where(eq(bannedPhotoHashes.hash, photo!.contentHash)),
    ).toHaveLength(1)
    const queued = await db
      .select({ key: storageDeletions.objectKey })
      .from(storageDeletions)
      .where(inArray(storageDeletions.objectKey, [`original-${photo!.id}.jpg`, `450-${photo!.id}.jpg`]))
    expect(queued).toHaveLength(2)
    const again = await upload(accused.token)
    expect(again.status).toBe(422)
    expect((await problem(again)).detail).toMatch(/moderator/)
    await expectProblem(await link(token, 'POST'), 409, 'link_used')
  })

  it('a photo the member already deleted is a 404, and the link stays usable', async () => {
    const [reporter, accused] = await Promise.all([member(), member()])
    const id = await addPhoto(accused.id, 1)
    await call('POST', `/api/v1/skips/${accused.id}`, reporter.token, { reportReason: 'Nudity' })
    const token = await tokenFor(accused.id, 'delete-photo')
    await db.delete(photos).where(eq(photos.id, id))
    await expectProblem(await link(token, 'POST'), 404, 'not_found')
    const [row] = await db
      .select()
      .from(moderationTokens)
      .where(eq(moderationTokens.id, token.split('.')[0]!))
    expect(row!.usedAt).toBeNull()
  })

  it('expired tokens are purged by the daily garbage collection; live ones stay', async () => {
    const target = await member()
    const [expired, live] = await db
      .insert(moderationTokens)
      .values([
        { action: 'ban', targetUserId: target.id, expiresAt: new Date(Date.now() - 1000) },
        { action: 'ban', targetUserId: target.id, expiresAt: new Date(Date.now() + day) },
      ])
      .returning({ id: moderationTokens.id })
    const result = await collectGarbageJob.run(s, new Date())
    expect(result.processed).toBeGreaterThanOrEqual(1)
    const left = await db
      .select({ id: moderationTokens.id })
      .from(moderationTokens)
      .where(inArray(moderationTokens.id, [expired!.id, live!.id]))
    expect(left).toEqual([{ id: live!.id }])
  })
})

describe('automatic rules for bot-like reports', () => {
  const monthAgo = () => new Date(Date.now() - 40 * day)

  /** A reporter who meets every "established" condition: 40 days old, bio, 10 answers, 5 people messaged. */
  async function established() {
    const reporter = await member({
      user: { createdAt: monthAgo() },
      profile: { about: 'Long enough bio here', answerCount: 10 },
    })
    const peers = await Promise.all(Array.from({ length: 5 }, () => account()))
    await db.insert(messaged).values(peers.map((p) => ({ subjectId: reporter.id, objectId: p.id })))
    return reporter
  }

  const state = async (id: string) =>
    (
      await db
        .select({ required: profiles.verificationRequired, shadowBannedAt: profiles.shadowBannedAt })
        .from(profiles)
        .where(eq(profiles.userId, id))
    )[0]!

  it('matches bot words, not innocent ones', () => {
    for (const r of [
      'Fake profile',
      'catfishing me',
      'SCAMMER',
      'spam bot',
      'not real',
      'impersonating a celeb',
    ]) {
      expect(botReasonPattern.test(r), r).toBe(true)
    }
    for (const r of ['Rude to me', 'both of us disagreed', 'bottle', 'unrealistic']) {
      expect(botReasonPattern.test(r), r).toBe(false)
    }
  })

  it('a trusted reporter’s bot report requires verification; an untrusted one’s or a non-bot reason does not', async () => {
    // Two trusted reporters: one reporter may only report once per 5 s.
    const trustedReporter = () =>
      member({ user: { createdAt: monthAgo() }, profile: { verificationLevel: 'photos' } })
    const [trusted, trusted2] = await Promise.all([trustedReporter(), trustedReporter()])
    const fresh = await member({ profile: { verificationLevel: 'photos' } })
    const [a, b, c] = await Promise.all([member(), member(), member()])

    await call('POST', `/api/v1/skips/${a.id}`, fresh.token, { reportReason: 'fake profile' })
    expect((await state(a.id)).required).toBe(false)
    await call('POST', `/api/v1/skips/${b.id}`, trusted.token, { reportReason: 'rude' })
    expect((await state(b.id)).required).toBe(false)
    const res = await call('POST', `/api/v1/skips/${c.id}`, trusted2.token, {
      reportReason: 'Fake profile, stolen photos',
    })
    expect(res.status).toBe(201)
    expect((await state(c.id)).required).toBe(true)
  })

  it('an operator’s bot report requires verification', async () => {
    const moderator = await member({ user: { role: 'moderator' } })
    const accused = await member()
    expect(
      (await call('POST', `/api/v1/skips/${accused.id}`, moderator.token, { reportReason: 'spam' })).status,
    ).toBe(201)
    expect((await state(accused.id)).required).toBe(true)
  })

  it('two bot reports from established reporters shadow-ban; the member still sees themselves, others reach the link', async () => {
    const accused = await member()
    const [r1, r2] = await Promise.all([established(), established()])
    await call('POST', `/api/v1/skips/${accused.id}`, r1.token, { reportReason: 'bot' })
    expect((await state(accused.id)).shadowBannedAt).toBeNull()
    await call('POST', `/api/v1/skips/${accused.id}`, r2.token, { reportReason: 'scam account' })
    expect((await state(accused.id)).shadowBannedAt).toBeInstanceOf(Date)

    // Shadow-banned: their own view is unchanged, and a direct link still works for others.
    expect((await call('GET', `/api/v1/profiles/${accused.id}`, accused.token)).status).toBe(200)
    const stranger = await member()
    expect((await call('GET', `/api/v1/profiles/${accused.id}`, stranger.token)).status).toBe(200)
  })

  it('reports from reporters who are not established do not count', async () => {
    const accused = await member()
    const young = await member({ profile: { about: 'Long enough bio here', answerCount: 10 } })
    const r1 = await established()
    await call('POST', `/api/v1/skips/${accused.id}`, r1.token, { reportReason: 'bot' })
    await call('POST', `/api/v1/skips/${accused.id}`, young.token, { reportReason: 'bot' })
    // Non-bot reason from an established reporter neither.
    const r3 = await established()
    await call('POST', `/api/v1/skips/${accused.id}`, r3.token, { reportReason: 'rude' })
    expect((await state(accused.id)).shadowBannedAt).toBeNull()
  })

  it('members on a paying tier are exempt from the automatic shadow ban', async () => {
    const [tier] = await db
      .insert(tiers)
      .values({ name: `gold-${crypto.randomUUID().slice(0, 8)}`, features: { readReceipts: true } })
      .returning()
    const accused = await member({ user: { tierId: tier!.id } })
    const [r1, r2] = await Promise.all([established(), established()])
    await call('POST', `/api/v1/skips/${accused.id}`, r1.token, { reportReason: 'bot' })
    await call('POST', `/api/v1/skips/${accused.id}`, r2.token, { reportReason: 'fake' })
    expect((await state(accused.id)).shadowBannedAt).toBeNull()
  })
})

describe('admin moderation routes', () => {
  it('lists reports newest first with the count against the accused (operators only)', async () => {
    const moderator = await account('moderator')
    const accused = await member({ name: 'Accused' })
    const [r1, r2] = await Promise.all([member({ name: 'First' }), member({ name: 'Second' })])
    await db.insert(skips).values([
      {
        subjectId: r1.id,
        objectId: accused.id,
        reported: true,
        reportReason: 'one',
        createdAt: new Date(Date.now() + 2 * day),
      },
      {
        subjectId: r2.id,
        objectId: accused.id,
        reported: true,
        reportReason: 'two',
        createdAt: new Date(Date.now() + 3 * day),
      },
    ])
    const res = await call('GET', '/api/v1/admin/reports?items_per_page=2', moderator.token)
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      data: { reporter: { id: string }; accused: Record<string, unknown>; reason: string }[]
    }
    expect(body.data.map((r) => r.reason)).toEqual(['two', 'one'])
    expect(body.data[0]).toMatchObject({
      reporter: { id: r2.id, name: 'Second' },
      accused: {
        id: accused.id,
        name: 'Accused',
        reportCount: 2,
        shadowBannedAt: null,
        verificationRequired: false,
      },
    })
    await expectProblem(await call('GET', '/api/v1/admin/reports', r1.token), 403, 'forbidden')
    await expectProblem(await call('GET', '/api/v1/admin/reports'), 401, 'unauthorized')
    await expectProblem(
      await call('GET', '/api/v1/admin/reports?page=0', moderator.token),
      422,
      'validation_failed',
      'query.page',
    )
  })

  it('shadow-bans and restores a member, idempotently', async () => {
    const admin = await account('admin')
    const target = await member()
    const path = `/api/v1/admin/members/${target.id}/shadow-ban`
    const first = (await (await call('POST', path, admin.token)).json()) as { shadowBannedAt: string }
    expect(first.shadowBannedAt).toMatch(/^\d{4}-/)
    const second = (await (await call('POST', path, admin.token)).json()) as { shadowBannedAt: string }
    expect(second.shadowBannedAt).toBe(first.shadowBannedAt)
    const lifted = await call('DELETE', path, admin.token)
    expect(lifted.status).toBe(200)
    expect(await lifted.json()).toEqual({ memberId: target.id, shadowBannedAt: null })
    expect((await call('DELETE', path, admin.token)).status).toBe(200)
  })

  it('shadow-ban errors: 401, 403 for members and for operator targets, 404, 422', async () => {
    const moderator = await account('moderator')
    const [target, someone] = await Promise.all([member(), member()])
    const other = await account('admin')
    const path = (id: string) => `/api/v1/admin/members/${id}/shadow-ban`
    await expectProblem(await call('POST', path(target.id)), 401, 'unauthorized')
    await expectProblem(await call('POST', path(target.id), someone.token), 403, 'forbidden')
    await expectProblem(await call('POST', path(other.id), moderator.token), 403, 'forbidden')
    await expectProblem(await call('POST', path(crypto.randomUUID()), moderator.token), 404, 'not_found')
    await expectProblem(
      await call('DELETE', path('nope'), moderator.token),
      422,
      'validation_failed',
      'param.id',
    )
    expect(
      (await db.select().from(profiles).where(eq(profiles.userId, target.id)))[0]!.shadowBannedAt,
    ).toBeNull()
  })

  it('bans a member through the bans service (sessions end), 409 twice; unban lifts it, then 404', async () => {
    const moderator = await account('moderator')
    const target = await member()
    await db
      .insert(skips)
      .values({ subjectId: moderator.id, objectId: target.id, reported: true, reportReason: 'Spam links' })
    const path = `/api/v1/admin/members/${target.id}/ban`
    const res = await call('POST', path, moderator.token, { reason: 'Spamming', days: 7 })
    expect(res.status).toBe(201)
    const ban = (await res.json()) as {
      id: string
      value: string
      reason: string
      expiresAt: string
      active: boolean
      revokedSessions: number
    }
    expect(ban).toMatchObject({
      value: target.email,
      active: true,
      revokedSessions: 1,
      createdBy: moderator.id,
    })
    expect(ban.reason).toBe('Spamming | reported: Spam links')
    expect(Math.abs(new Date(ban.expiresAt).getTime() - Date.now() - 7 * day)).toBeLessThan(60_000)
    await expectProblem(await call('GET', '/api/v1/me', target.token), 401, 'unauthorized')
    // Banned members vanish at once: deactivated (reason `banned`), so no profile, search or chat.
    const [after] = await db.select().from(users).where(eq(users.id, target.id))
    expect(after).toMatchObject({ status: 'deactivated', deactivationReason: 'banned' })
    await expectProblem(await call('GET', `/api/v1/profiles/${target.id}`, moderator.token), 404, 'not_found')
    await expectProblem(await call('POST', path, moderator.token, { reason: 'Again' }), 409, 'conflict')

    const unbanned = await call('DELETE', path, moderator.token)
    expect(unbanned.status).toBe(200)
    expect(await unbanned.json()).toEqual({ lifted: 1 })
    expect((await db.select().from(bans).where(eq(bans.id, ban.id)))[0]!.liftedAt).toBeInstanceOf(Date)
    await expectProblem(await call('DELETE', path, moderator.token), 404, 'not_found')
  })

  it('ban errors: 401, 403 (member; moderator banning an operator), 404, 422', async () => {
    const moderator = await account('moderator')
    const [target, someone] = await Promise.all([member(), member()])
    const admin = await account('admin')
    const path = (id: string) => `/api/v1/admin/members/${id}/ban`
    await expectProblem(await call('POST', path(target.id), undefined, { reason: 'x' }), 401, 'unauthorized')
    await expectProblem(await call('POST', path(target.id), someone.token, { reason: 'x' }), 403, 'forbidden')
    await expectProblem(
      await call('POST', path(admin.id), moderator.token, { reason: 'x' }),
      403,
      'forbidden',
    )
    await expectProblem(
      await call('POST', path(crypto.randomUUID()), moderator.token, { reason: 'x' }),
      404,
      'not_found',
    )
    await expectProblem(
      await call('POST', path(target.id), moderator.token, {}),
      422,
      'validation_failed',
      'json.reason',
    )
    await expectProblem(
      await call('POST', path(target.id), moderator.token, { reason: 'x', days: 0 }),
      422,
      'validation_failed',
      'json.days',
    )
    await expectProblem(await call('DELETE', path(target.id), someone.token), 403, 'forbidden')
    expect(await db.select().from(bans).where(eq(bans.value, target.email))).toEqual([])
  })

  it('deletes a photo and bans its hash; 404 unknown, 422 bad id, 403 member, 401', async () => {
    const moderator = await account('moderator')
    const target = await member()
    const id = await addPhoto(target.id, 3)
    const [row] = await db.select().from(photos).where(eq(photos.id, id))
    await expectProblem(await call('DELETE', `/api/v1/admin/photos/${id}`, target.token), 403, 'forbidden')
    await expectProblem(await call('DELETE', `/api/v1/admin/photos/${id}`), 401, 'unauthorized')
    expect((await call('DELETE', `/api/v1/admin/photos/${id}`, moderator.token)).status).toBe(204)
    expect(await db.select().from(photos).where(eq(photos.id, id))).toEqual([])
    expect(
      await db.select().from(bannedPhotoHashes).where(eq(bannedPhotoHashes.hash, row!.contentHash)),
    ).toHaveLength(1)
    await expectProblem(await call('DELETE', `/api/v1/admin/photos/${id}`, moderator.token), 404, 'not_found')
    await expectProblem(
      await call('DELETE', '/api/v1/admin/photos/xyz', moderator.token),
      422,
      'validation_failed',
      'param.photoId',
    )
  })
})
