import { env } from 'cloudflare:test'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { notifyUnread } from '../../../src/services/chat/notifications'
import { sessions, users } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import { fixedClock } from '../../../src/lib/clock'
import { createServices } from '../../../src/services'
import { deactivateInactiveAccounts } from '../../../src/services/accounts/inactivity'
import { type ChannelFacts, chooseChannels, loadChannelFacts } from '../../../src/services/push/channels'
import { pushBody } from '../../../src/services/push/queue'
import { conversationStub, openConversation, opener } from '../chat-socket'
import { call, member } from '../fixtures'
import { mailbox } from '../helpers'
import {
  browserSubscription,
  eventually,
  expoInbox,
  expoToken,
  newSession,
  sessionOf,
  webInbox,
} from '../push-helpers'

const minute = 60_000
const day = 24 * 60 * minute
const s = createServices(env as Env)
const at = (ms: number) => createServices(env as Env, { clock: fixedClock(new Date(Date.now() + ms)) })
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Longer than the push queue's batch wait, so a push that was going to happen has happened. */
const queueSettles = 2_500

/** A member with an Expo token on their (mobile) session, away for an hour. */
async function withToken(opts: { name?: string; intros?: 'immediately' | 'daily'; awayMs?: number } = {}) {
  const email = `push-${crypto.randomUUID().slice(0, 12)}@rapport.test`
  const m = await member({
    name: opts.name ?? 'Jo',
    user: { email, emailDisplay: email, lastOnlineAt: new Date(Date.now() - (opts.awayMs ?? 60 * minute)) },
    profile: { introsNotification: opts.intros ?? 'immediately', chatsNotification: 'immediately' },
  })
  const token = expoToken()
  const res = await call('PUT', `/api/v1/me/sessions/${sessionOf(m.token)}/push-token`, m.token, { token })
  expect(res.status).toBe(200)
  return { ...m, email, expo: token }
}

const send = (senderId: string, recipientId: string, body: string) =>
  conversationStub(senderId, recipientId).send({ senderId, clientId: crypto.randomUUID(), body })

describe('immediate push', () => {
  it('pushes "<name> sent you a message" with the text cut at 128 and a link to the conversation', async () => {
    const sender = await member({ name: 'Robin' })
    const me = await withToken()
    const long = `${opener('Hi')} ${'é'.repeat(200)}`
    expect((await send(sender.id, me.id, long)).ok).toBe(true)
    const [push, ...more] = await eventually(
      () => expoInbox(me.expo),
      (m) => m.length > 0,
    )
    expect(push).toMatchObject({
      title: 'Robin sent you a message',
      data: { type: 'message', box: 'intros', peerId: sender.id, url: `/conversations/${sender.id}` },
    })
    expect(Array.from(push!.body!)).toHaveLength(128)
    expect(push!.body).toBe(pushBody(long))
    expect(push!.body!.endsWith('…')).toBe(true)
    expect(more).toEqual([])

    // The cron does not announce the same unread state again, by push or email.
    await notifyUnread(at(11 * minute), { batchSize: 1000 })
    expect(await expoInbox(me.expo)).toHaveLength(1)
    expect(await mailbox(me.email)).toEqual([])
  })

  it('does not push while the recipient is on that conversation’s socket; does once they leave', async () => {
    const sender = await member({ name: 'Kim' })
    const me = await withToken()
    const socket = await openConversation(me.token, sender.id)
    await send(sender.id, me.id, opener('first'))
    await socket.next((f) => f.type === 'message')
    socket.ws.close(1000, 'bye')
    await socket.closed
    await pause(queueSettles)
    expect(await expoInbox(me.expo)).toEqual([])
    const second = opener('second')
    // The Conversation hears of the close asynchronously: send until a push is due.
    await eventually(
      async () => (
        await send(sender.id, me.id, `${second} ${crypto.randomUUID()}`),
        await expoInbox(me.expo)
      ),
      (m) => m.length > 0,
      10_000,
    )
    const pushes = await expoInbox(me.expo)
    expect(pushes.every((p) => p.body!.startsWith(second))).toBe(true)
  }, 20_000)

  it('respects a non-immediate setting: no push now, the cron pushes later (no email: a token reaches them)', async () => {
    const sender = await member({ name: 'Lee' })
    const me = await withToken({ intros: 'daily' })
    await send(sender.id, me.id, opener('daily'))
    await pause(queueSettles)
    expect(await expoInbox(me.expo)).toEqual([])
    await notifyUnread(at(11 * minute), { batchSize: 1000 })
    const [push, ...more] = await expoInbox(me.expo)
    expect(more).toEqual([])
    expect(push).toMatchObject({ title: 'You have a new message', body: 'Lee sent you an intro' })
    expect(push!.data).toMatchObject({ type: 'unread', box: 'intros' })
    expect(await mailbox(me.email)).toEqual([])
    // A second run finds nothing new.
    await notifyUnread(at(12 * minute), { batchSize: 1000 })
    expect(await expoInbox(me.expo)).toHaveLength(1)
  })

  it('pushes to a browser subscription too, decrypted as sent', async () => {
    const sender = await member({ name: 'Ash' })
    const me = await member({ profile: { introsNotification: 'immediately' } })
    const web = await newSession(me, 'web')
    const { id, ...sub } = await browserSubscription()
    await call('PUT', `/api/v1/me/sessions/${web.sessionId}/web-push-subscription`, web.token, sub)
    const body = opener('web')
    await send(sender.id, me.id, body)
    const [caught] = await eventually(
      () => webInbox(id),
      (m) => m.length > 0,
    )
    expect(JSON.parse(caught!.payload)).toMatchObject({ title: 'Ash sent you a message', body })
  })
})

describe('channel rule', () => {
  const now = new Date()
  const ago = (ms: number) => new Date(now.getTime() - ms)
  const target = (address: string, kind: 'expo' | 'web' = 'expo') => ({
    userId: 'u',
    sessionId: address,
    kind,
    address,
    p256dh: null,
    auth: null,
  })

  it('one push per target; email when no target, away 8 days, or the newest session is a browser without push', () => {
    const mobile = (t: number, address?: string) => ({
      client: 'mobile' as const,
      lastSeenAt: ago(t),
      target: address ? target(address) : null,
    })
    const web = (t: number, address?: string) => ({
      client: 'web' as const,
      lastSeenAt: ago(t),
      target: address ? target(address, 'web') : null,
    })
    const rule = (sessions: ChannelFacts['sessions'], lastOnline = ago(minute)) =>
      chooseChannels({ userId: 'u', lastOnlineAt: lastOnline, sessions }, now)

    expect(rule([mobile(0, 'a'), mobile(day, 'b')])).toEqual({
      push: [target('a'), target('b')],
      email: false,
    })
    expect(rule([mobile(0)])).toEqual({ push: [], email: true })
    expect(rule([])).toEqual({ push: [], email: true })
    expect(rule([mobile(0, 'a')], ago(9 * day)).email).toBe(true)
    expect(rule([mobile(0, 'a')], ago(7 * day)).email).toBe(false)
    expect(rule([mobile(day, 'a'), web(0)])).toEqual({ push: [target('a')], email: true })
    expect(rule([mobile(0, 'a'), web(day)]).email).toBe(false)
    expect(rule([mobile(day, 'a'), web(0, 'w')])).toEqual({
      push: [target('a'), target('w', 'web')],
      email: false,
    })
  })

  it('counts only live sessions; the cron pushes and emails someone away 9 days', async () => {
    const sender = await member({ name: 'Sky' })
    const me = await withToken({ intros: 'daily', awayMs: 9 * day })
    const revoked = await newSession(me, 'web')
    await s.database.db
      .update(sessions)
      .set({ revokedAt: new Date() })
      .where(eq(sessions.id, revoked.sessionId))
    const facts = (await loadChannelFacts(s, [me.id])).get(me.id)!
    expect(facts.sessions.map((x) => x.client)).toEqual(['mobile'])

    await send(sender.id, me.id, opener('away'))
    await notifyUnread(at(11 * minute), { batchSize: 1000 })
    expect(await expoInbox(me.expo)).toHaveLength(1)
    const [mail] = await mailbox(me.email)
    expect(mail!.text).toContain('Sky sent you an intro')
  })

  it('emails as well when the newest session is a browser without push', async () => {
    const sender = await member({ name: 'Rain' })
    const me = await withToken({ intros: 'daily' })
    const web = await newSession(me, 'web')
    await s.database.db
      .update(sessions)
      .set({ lastSeenAt: new Date(Date.now() - day) })
      .where(eq(sessions.id, sessionOf(me.token)))
    expect(web.sessionId).not.toBe(sessionOf(me.token))
    await send(sender.id, me.id, opener('web newer'))
    await notifyUnread(at(11 * minute), { batchSize: 1000 })
    expect(await expoInbox(me.expo)).toHaveLength(1)
    expect(await mailbox(me.email)).toHaveLength(1)
  })
})

describe('inactivity deactivation', () => {
  it('pushes to the member’s devices before their sessions end', async () => {
    const me = await withToken({ awayMs: 35 * day })
    await s.database.db
      .update(users)
      .set({ lastSignInAt: new Date(Date.now() - 35 * day) })
      .where(eq(users.id, me.id))
    const result = await deactivateInactiveAccounts(s, {
      scheduledAt: new Date(),
      batchSize: 10_000,
      dryRun: false,
    })
    expect(result.deactivated).toBeGreaterThanOrEqual(1)
    const [push] = await expoInbox(me.expo)
    expect(push).toMatchObject({ title: 'Your profile is invisible 👻', data: { type: 'deactivated' } })
    const [session] = await s.database.db
      .select()
      .from(sessions)
      .where(eq(sessions.id, sessionOf(me.token)))
    expect(session!.revokedReason).toBe('inactivity')
    expect((await loadChannelFacts(s, [me.id])).get(me.id)!.sessions).toEqual([])
  })
})
