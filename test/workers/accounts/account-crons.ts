import { createScheduledController, env } from 'cloudflare:test'
import { eq, inArray } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { collectGarbageJob } from '../../../cron/collect-garbage'
import { deactivateInactiveAccountsJob } from '../../../cron/deactivate-inactive-accounts'
import { schedule } from '../../../cron/registry'
import { parseConfig } from '../../../src/config'
import { bans, exportTokens, refreshTokens, sessions, signInChallenges, users } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import { fixedClock } from '../../../src/lib/clock'
import worker from '../../../src/index'
import { createServices } from '../../../src/services'
import { collectAccountGarbage } from '../../../src/services/accounts/garbage'
import { deactivateInactiveAccounts } from '../../../src/services/accounts/inactivity'
import { startSession } from '../../../src/services/accounts/sessions'
import { api, envWith, mailbox } from '../helpers'
import { insertUsers } from '../fixtures'

const day = 86_400_000
// The clock is controlled but stays at the real time: other test files share the database, and
// a clock moved weeks ahead would make their fresh fixtures look inactive or expired.
const now = new Date(Math.floor(Date.now() / 1000) * 1000)
const daysAgo = (d: number) => new Date(now.getTime() - d * day)
const acting = envWith({ INACTIVITY_DEACTIVATION_DRY_RUN: 'false' })
const servicesAt = (e: Env, at = now) => createServices(e, { clock: fixedClock(at) })
const s = servicesAt(env as Env)

interface Fixture {
  lastOnlineDaysAgo: number
  role?: 'member' | 'moderator'
  status?: 'active' | 'deactivated' | 'onboarding'
  domain?: string
  lastSignInAt?: Date
}

/** A signed-in account, last online `lastOnlineDaysAgo` days before `now`. */
async function account(f: Fixture) {
  const email = `inactive-${crypto.randomUUID()}@${f.domain ?? 'rapport.test'}`
  const [user] = await insertUsers([
    {
      email,
      emailDisplay: email,
      role: f.role ?? 'member',
      status: f.status ?? 'active',
      lastOnlineAt: daysAgo(f.lastOnlineDaysAgo),
      lastSignInAt: f.lastSignInAt ?? daysAgo(f.lastOnlineDaysAgo),
      deactivationReason: f.status === 'deactivated' ? 'user' : null,
      deactivatedAt: f.status === 'deactivated' ? daysAgo(f.lastOnlineDaysAgo) : null,
    },
  ])
  const { accessToken } = await startSession(
    s,
    { id: user!.id, role: f.role ?? 'member' },
    { client: 'mobile', ip: '203.0.113.9' },
  )
  return { user: user!, email, accessToken }
}

const row = async (id: string) => (await s.database.db.select().from(users).where(eq(users.id, id)))[0]!
const liveSessions = async (userId: string) =>
  (await s.database.db.select().from(sessions).where(eq(sessions.userId, userId))).filter(
    (x) => x.revokedAt === null,
  )
const meStatus = async (token: string) =>
  (await api('/api/v1/me', { headers: { Authorization: `Bearer ${token}` } })).status

describe('inactivity deactivation', () => {
  it('deactivates members away 30–50 days, signs them out and emails each exactly once', async () => {
    const due = await account({ lastOnlineDaysAgo: 35 })
    const dueAtEdge = await account({ lastOnlineDaysAgo: 30 })
    const exampleDomain = await account({ lastOnlineDaysAgo: 40, domain: 'example.com' })
    const tooLongAgo = await account({ lastOnlineDaysAgo: 51 })
    const recent = await account({ lastOnlineDaysAgo: 29 })
    const moderator = await account({ lastOnlineDaysAgo: 35, role: 'moderator' })
    const justSignedIn = await account({
      lastOnlineDaysAgo: 35,
      lastSignInAt: new Date(now.getTime() - 60_000),
    })
    const deactivatedByThemselves = await account({ lastOnlineDaysAgo: 35, status: 'deactivated' })
    const onboarding = await account({ lastOnlineDaysAgo: 35, status: 'onboarding' })

    const result = await deactivateInactiveAccountsJob.run(servicesAt(acting), now)
    expect(result.processed).toBeGreaterThanOrEqual(3)

    for (const a of [due, dueAtEdge, exampleDomain]) {
      const r = await row(a.user.id)
      expect(r).toMatchObject({ status: 'deactivated', deactivationReason: 'inactivity' })
      expect(r.deactivatedAt).toEqual(now)
      expect(r.inactivityNotifiedAt).toEqual(now)
      expect(await liveSessions(a.user.id)).toEqual([])
      expect(await meStatus(a.accessToken)).toBe(401)
    }
    const [mail] = await mailbox(due.email)
    expect(await mailbox(due.email)).toHaveLength(1)
    expect(mail!.subject).toBe('We deactivated your Rapport account')
    expect(mail!.text).toMatch(/sign in again/i)
    expect(await mailbox(dueAtEdge.email)).toHaveLength(1)
    expect(await mailbox(exampleDomain.email)).toHaveLength(0)

    for (const a of [tooLongAgo, recent, moderator, justSignedIn, onboarding]) {
      expect((await row(a.user.id)).status).toBe(a.user.status)
      expect(await liveSessions(a.user.id)).toHaveLength(1)
      expect(await mailbox(a.email)).toHaveLength(0)
    }
    expect(await row(deactivatedByThemselves.user.id)).toMatchObject({
      deactivationReason: 'user',
      inactivityNotifiedAt: null,
    })
    expect(await liveSessions(deactivatedByThemselves.user.id)).toHaveLength(1)

    // A second (or late, or overlapping) run changes nothing and sends nothing.
    const later = new Date(now.getTime() + 3600_000)
    await deactivateInactiveAccountsJob.run(servicesAt(acting, later), later)
    expect(await mailbox(due.email)).toHaveLength(1)
    expect((await row(due.user.id)).deactivatedAt).toEqual(now)
  })

  it('keeps the deactivation when the email fails and sends it on the next run, once', async () => {
    const a = await account({ lastOnlineDaysAgo: 33 })
    const smtpDown = envWith({ INACTIVITY_DEACTIVATION_DRY_RUN: 'false', SMTP_PASS: 'wrong-password' })

    await deactivateInactiveAccountsJob.run(servicesAt(smtpDown), now)
    let r = await row(a.user.id)
    expect(r).toMatchObject({
      status: 'deactivated',
      deactivationReason: 'inactivity',
      inactivityNotifiedAt: null,
    })
    expect(await liveSessions(a.user.id)).toEqual([])
    expect(await mailbox(a.email)).toHaveLength(0)

    const next = new Date(now.getTime() + 3600_000)
    await deactivateInactiveAccountsJob.run(servicesAt(acting, next), next)
    r = await row(a.user.id)
    expect(r.inactivityNotifiedAt).toEqual(next)
    expect(r.deactivatedAt).toEqual(now)
    expect(await mailbox(a.email)).toHaveLength(1)

    const third = new Date(now.getTime() + 2 * 3600_000)
    await deactivateInactiveAccountsJob.run(servicesAt(acting, third), third)
    expect(await mailbox(a.email)).toHaveLength(1)
  })

  it('does not mail someone who came back before the retry', async () => {
    const a = await account({ lastOnlineDaysAgo: 34 })
    const smtpDown = envWith({ INACTIVITY_DEACTIVATION_DRY_RUN: 'false', SMTP_PASS: 'wrong-password' })
    await deactivateInactiveAccountsJob.run(servicesAt(smtpDown), now)
    // What sign-in does to a deactivated account.
    await s.database.db
      .update(users)
      .set({ status: 'active', lastOnlineAt: now, lastSignInAt: now })
      .where(eq(users.id, a.user.id))
    const next = new Date(now.getTime() + 3600_000)
    await deactivateInactiveAccountsJob.run(servicesAt(acting, next), next)
    expect((await row(a.user.id)).status).toBe('active')
    expect(await mailbox(a.email)).toHaveLength(0)
  })

  it('in dry run (the default outside production) only logs whom it would deactivate', async () => {
    const a = await account({ lastOnlineDaysAgo: 36 })
    const dry = servicesAt(env as Env)
    expect(dry.config.jobs.inactivityDryRun).toBe(true)
    const result = await deactivateInactiveAccountsJob.run(dry, now)
    expect(result.processed).toBeGreaterThanOrEqual(1)
    expect((await row(a.user.id)).status).toBe('active')
    expect(await liveSessions(a.user.id)).toHaveLength(1)
    expect(await mailbox(a.email)).toHaveLength(0)
  })

  it('processes at most one batch per run', async () => {
    const batch = [await account({ lastOnlineDaysAgo: 45 }), await account({ lastOnlineDaysAgo: 45 })]
    const first = await deactivateInactiveAccounts(servicesAt(acting), {
      scheduledAt: now,
      batchSize: 1,
      dryRun: false,
    })
    expect(first.deactivated).toBe(1)
    await deactivateInactiveAccounts(servicesAt(acting), { scheduledAt: now, batchSize: 1000, dryRun: false })
    for (const a of batch) expect((await row(a.user.id)).status).toBe('deactivated')
  })

  it('runs hourly through the Worker’s scheduled entry', async () => {
    expect(schedule['17 * * * *']).toContain(deactivateInactiveAccountsJob)
    const a = await account({ lastOnlineDaysAgo: 31 })
    const controller = createScheduledController({ cron: '17 * * * *', scheduledTime: now.getTime() })
    await worker.scheduled(controller, acting)
    expect(await row(a.user.id)).toMatchObject({ status: 'deactivated', deactivationReason: 'inactivity' })
    expect(await mailbox(a.email)).toHaveLength(1)
  })

  it('defaults INACTIVITY_DEACTIVATION_DRY_RUN to on except in production', () => {
    const base = {
      DATABASE_URL: 'postgres://u@h/db',
      UPSTASH_REDIS_REST_URL: 'https://r.example',
      UPSTASH_REDIS_REST_TOKEN: 't',
      JWT_SECRET: 'x'.repeat(32),
      SMTP_HOST: 'smtp.example',
      SMTP_FROM: 'a@example.com',
      PUBLIC_URL: 'https://api.rapport.example',
    }
    const dryRun = (vars: Record<string, unknown>) => parseConfig({ ...base, ...vars }).jobs.inactivityDryRun
    expect(dryRun({ ENVIRONMENT: 'local' })).toBe(true)
    expect(dryRun({ ENVIRONMENT: 'staging' })).toBe(true)
    expect(dryRun({ ENVIRONMENT: 'production' })).toBe(false)
    expect(dryRun({ ENVIRONMENT: 'production', INACTIVITY_DEACTIVATION_DRY_RUN: 'true' })).toBe(true)
    expect(dryRun({ ENVIRONMENT: 'local', INACTIVITY_DEACTIVATION_DRY_RUN: 'false' })).toBe(false)
    expect(dryRun({ ENVIRONMENT: 'local', INACTIVITY_DEACTIVATION_DRY_RUN: false })).toBe(false)
    expect(() => dryRun({ INACTIVITY_DEACTIVATION_DRY_RUN: 'yes' })).toThrow(
      /INACTIVITY_DEACTIVATION_DRY_RUN/,
    )
  })
})

describe('garbage collection', () => {
  async function fixtures() {
    const { user } = await account({ lastOnlineDaysAgo: 1 })
    const db = s.database.db
    const challenge = (expiresAt: Date, consumedAt: Date | null = null) =>
      db
        .insert(signInChallenges)
        .values({
          email: user.email,
          emailDisplay: user.email,
          codeHash: 'x',
          ip: '203.0.113.9',
          expiresAt,
          consumedAt,
        })
        .returning({ id: signInChallenges.id })
        .then((r) => r[0]!.id)
    const session = (expiresAt: Date, revokedAt: Date | null = null) =>
      db
        .insert(sessions)
        .values({ userId: user.id, ip: '203.0.113.9', expiresAt, revokedAt })
        .returning({ id: sessions.id })
        .then((r) => r[0]!.id)
    const refresh = async (sessionId: string, expiresAt: Date) => {
      const tokenHash = crypto.randomUUID()
      await db.insert(refreshTokens).values({ tokenHash, sessionId, expiresAt })
      return tokenHash
    }
    const exportToken = async (expiresAt: Date, usedAt: Date | null = null) => {
      const tokenHash = crypto.randomUUID()
      await db.insert(exportTokens).values({ tokenHash, userId: user.id, expiresAt, usedAt })
      return tokenHash
    }
    const ban = (expiresAt: Date | null, liftedAt: Date | null = null) =>
      db
        .insert(bans)
        .values({
          kind: 'email',
          value: `gc-${crypto.randomUUID()}@rapport.test`,
          reason: 'test',
          expiresAt,
          liftedAt,
        })
        .returning({ id: bans.id })
        .then((r) => r[0]!.id)

    const revokedLongAgo = await session(daysAgo(-5), daysAgo(31))
    const live = await session(daysAgo(-5))
    return {
      gone: {
        challenges: [await challenge(daysAgo(2)), await challenge(daysAgo(-1), daysAgo(2))],
        sessions: [revokedLongAgo, await session(daysAgo(31))],
        refreshTokens: [await refresh(live, daysAgo(0.01)), await refresh(revokedLongAgo, daysAgo(-5))],
        exportTokens: [await exportToken(daysAgo(0.01)), await exportToken(daysAgo(-0.005), daysAgo(0.001))],
        bans: [await ban(daysAgo(91)), await ban(null, daysAgo(91))],
      },
      kept: {
        challenges: [
          await challenge(daysAgo(0.5)),
          await challenge(daysAgo(-0.005)),
          await challenge(daysAgo(0.5), daysAgo(0.5)),
        ],
        sessions: [live, await session(daysAgo(-5), daysAgo(29)), await session(daysAgo(29))],
        refreshTokens: [await refresh(live, daysAgo(-5))],
        exportTokens: [await exportToken(daysAgo(-0.005))],
        bans: [
          await ban(daysAgo(89)),
          await ban(null, daysAgo(89)),
          await ban(null),
          await ban(daysAgo(-30)),
        ],
      },
    }
  }

  async function present(ids: Awaited<ReturnType<typeof fixtures>>['gone']) {
    const db = s.database.db
    return {
      challenges: (
        await db
          .select({ id: signInChallenges.id })
          .from(signInChallenges)
          .where(inArray(signInChallenges.id, ids.challenges))
      ).length,
      sessions: (
        await db.select({ id: sessions.id }).from(sessions).where(inArray(sessions.id, ids.sessions))
      ).length,
      refreshTokens: (
        await db
          .select({ h: refreshTokens.tokenHash })
          .from(refreshTokens)
          .where(inArray(refreshTokens.tokenHash, ids.refreshTokens))
      ).length,
      exportTokens: (
        await db
          .select({ h: exportTokens.tokenHash })
          .from(exportTokens)
          .where(inArray(exportTokens.tokenHash, ids.exportTokens))
      ).length,
      bans: (await db.select({ id: bans.id }).from(bans).where(inArray(bans.id, ids.bans))).length,
    }
  }
  const none = { challenges: 0, sessions: 0, refreshTokens: 0, exportTokens: 0, bans: 0 }
  const sizes = (ids: Awaited<ReturnType<typeof fixtures>>['kept']) =>
    Object.fromEntries(Object.entries(ids).map(([k, v]) => [k, v.length]))

  it('deletes spent auth records and keeps live and recent ones, idempotently', async () => {
    const { gone, kept } = await fixtures()
    const result = await collectGarbageJob.run(s, now)
    // 9 directly; the refresh token of the old revoked session goes by cascade.
    expect(result.processed).toBeGreaterThanOrEqual(9)
    expect(await present(gone)).toEqual(none)
    expect(await present(kept)).toEqual(sizes(kept))

    await collectGarbageJob.run(s, now)
    expect(await present(kept)).toEqual(sizes(kept))
  })

  it('deletes at most one batch per table per run', async () => {
    await fixtures()
    const result = await collectAccountGarbage(s, { batchSize: 1 })
    for (const n of Object.values(result)) expect(n).toBeLessThanOrEqual(1)
  })

  it('runs daily through the Worker’s scheduled entry, next to the finished-jobs purge', async () => {
    expect(schedule['43 3 * * *']!.map((j) => j.name)).toEqual([
      'purge-finished-jobs',
      'collect-garbage',
      'purge-stale-onboardings',
    ])
    const { gone, kept } = await fixtures()
    const controller = createScheduledController({ cron: '43 3 * * *', scheduledTime: Date.now() })
    await worker.scheduled(controller, env as Env)
    expect(await present(gone)).toEqual(none)
    expect(await present(kept)).toEqual(sizes(kept))
  })
})
