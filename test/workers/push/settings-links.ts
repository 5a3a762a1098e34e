import { env } from 'cloudflare:test'
import { eq } from 'drizzle-orm'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { notifyUnread } from '../../../src/services/chat/notifications'
import { inboxEntries, profiles } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import { fixedClock } from '../../../src/lib/clock'
import { createServices } from '../../../src/services'
import { linkLifetimeSeconds, settingsLink } from '../../../src/services/notifications/settings-links'
import { testPublicUrl } from '../../support/constants'
import { member } from '../fixtures'
import { api, mailbox, problem } from '../helpers'

const s = createServices(env as Env)
const minute = 60_000
const pathOf = (url: string) => url.replace(testPublicUrl, '')
const frequencyOf = async (userId: string) =>
  (await s.database.db.select().from(profiles).where(eq(profiles.userId, userId)))[0]!

function post(url: string, body: string, type = 'application/x-www-form-urlencoded') {
  return api(pathOf(url), { method: 'POST', headers: { 'content-type': type }, body })
}

describe('notification-settings links in emails', () => {
  it('every unread email carries the signed link and RFC 8058 List-Unsubscribe headers', async () => {
    const email = `links-${crypto.randomUUID().slice(0, 12)}@rapport.test`
    const me = await member({
      user: { email, emailDisplay: email, lastOnlineAt: new Date(Date.now() - 60 * minute) },
      profile: { chatsNotification: 'daily' },
    })
    const peer = await member({ name: 'Alex' })
    await s.database.db.insert(inboxEntries).values({
      ownerId: me.id,
      peerId: peer.id,
      box: 'chats',
      lastSeq: 1,
      lastSenderId: peer.id,
      lastBody: 'hi',
      lastAt: new Date(Date.now() - 20 * minute),
      unreadCount: 1,
    })
    await notifyUnread(s, { batchSize: 1000 })
    const [mail] = await mailbox(email)
    const header = mail!.headers['list-unsubscribe']!
    expect(header).toMatch(
      new RegExp(
        `^<${testPublicUrl.replaceAll('.', '\\.')}/api/v1/notification-settings/${me.id}/chats\\?token=[\\w.-]+>$`,
      ),
    )
    expect(mail!.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click')
    const url = header.slice(1, -1)
    expect(mail!.text).toContain(url)
    expect(mail!.html).toContain(`href="${url}"`)

    // What a mail client does with those headers (RFC 8058 §3.1): a POST with this exact body.
    const res = await post(url, 'List-Unsubscribe=One-Click')
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('no longer get emails about new chat messages')
    expect((await frequencyOf(me.id)).chatsNotification).toBe('never')
  })

  it('GET shows a form without script and changes nothing; POST applies; both idempotent', async () => {
    const me = await member({ profile: { introsNotification: 'daily' } })
    const url = await settingsLink(s, me.id, 'intros')
    for (let i = 0; i < 2; i++) {
      const page = await api(pathOf(url))
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toMatch(/^text\/html/)
      expect(page.headers.get('cache-control')).toBe('no-store')
      expect(page.headers.get('referrer-policy')).toBe('no-referrer')
      const html = await page.text()
      expect(html).not.toMatch(/<script/i)
      expect(html).toContain('<form method="post"')
      expect(html).toMatch(/value="daily" checked/)
    }
    expect((await frequencyOf(me.id)).introsNotification).toBe('daily')
    for (let i = 0; i < 2; i++) {
      const res = await post(url, 'frequency=weekly')
      expect(res.status).toBe(200)
      expect((await frequencyOf(me.id)).introsNotification).toBe('weekly')
    }
    // A used link cannot be replayed to set something else.
    const replay = await post(url, 'frequency=immediately')
    expect(replay.status).toBe(409)
    expect((await problem(replay)).code).toBe('link_used')
    expect((await frequencyOf(me.id)).introsNotification).toBe('weekly')
  })

  it('accepts the one-click body as multipart/form-data too', async () => {
    const me = await member({ profile: { chatsNotification: 'immediately' } })
    const form = new FormData()
    form.set('List-Unsubscribe', 'One-Click')
    const res = await api(pathOf(await settingsLink(s, me.id, 'chats')), { method: 'POST', body: form })
    expect(res.status).toBe(200)
    expect((await frequencyOf(me.id)).chatsNotification).toBe('never')
  })

  it('refuses forged, tampered, other-member, other-type and expired links with clear 4xx', async () => {
    const me = await member({ profile: { chatsNotification: 'immediately' } })
    const other = await member()
    const url = await settingsLink(s, me.id, 'chats')
    const token = new URL(url).searchParams.get('token')!

    const forged = await new SignJWT({ kind: 'chats' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('rapport')
      .setAudience('rapport-notification-settings')
      .setSubject(me.id)
      .setJti('x')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('a-secret-that-is-not-the-servers-at-all-00'))
    const cases: [string, number, string][] = [
      [`/api/v1/notification-settings/${me.id}/chats?token=${forged}`, 403, 'forbidden'],
      [`/api/v1/notification-settings/${me.id}/chats?token=${token.slice(0, -2)}xx`, 403, 'forbidden'],
      [`/api/v1/notification-settings/${other.id}/chats?token=${token}`, 403, 'forbidden'],
      [`/api/v1/notification-settings/${me.id}/intros?token=${token}`, 403, 'forbidden'],
      [`/api/v1/notification-settings/${me.id}/chats?token=nonsense`, 403, 'forbidden'],
      // An access token is not a link (another audience).
      [`/api/v1/notification-settings/${me.id}/chats?token=${me.token}`, 403, 'forbidden'],
      [`/api/v1/notification-settings/${me.id}/chats`, 422, 'validation_failed'],
      [`/api/v1/notification-settings/${me.id}/everything?token=${token}`, 422, 'validation_failed'],
    ]
    for (const [path, status, code] of cases) {
      for (const method of ['GET', 'POST']) {
        const res = await api(path, {
          method,
          ...(method === 'POST'
            ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'frequency=never' }
            : {}),
        })
        expect(res.status, `${method} ${path}`).toBe(status)
        expect((await problem(res)).code).toBe(code)
      }
    }
    const expiredAt = createServices(env as Env, {
      clock: fixedClock(new Date(Date.now() - (linkLifetimeSeconds + 60) * 1000)),
    })
    const expired = await settingsLink(expiredAt, me.id, 'chats')
    for (const method of ['GET', 'POST']) {
      const res = await api(pathOf(expired), {
        method,
        ...(method === 'POST'
          ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'frequency=never' }
          : {}),
      })
      expect(res.status).toBe(410)
      expect((await problem(res)).code).toBe('link_expired')
    }
    const empty = await post(url, '')
    expect(empty.status).toBe(422)
    const bad = await post(url, 'frequency=hourly')
    expect(bad.status).toBe(422)
    expect((await frequencyOf(me.id)).chatsNotification).toBe('immediately')
  })
})
