import { eq, inArray } from 'drizzle-orm'
import { inject } from 'vitest'
import { describe, expect, it } from 'vitest'
import { env } from 'cloudflare:test'
import { pushTargets, pushTickets } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import { fixedClock } from '../../../src/lib/clock'
import { createServices } from '../../../src/services'
import type { PushTarget } from '../../../src/services/push/channels'
import { type PushItem, sendPushes } from '../../../src/services/push/deliver'
import { ExpoRequestError, sendExpoMessages } from '../../../src/services/push/expo'
import { queuePushRetry } from '../../../src/services/push/queue'
import { checkExpoReceipts, receiptDelayMs } from '../../../src/services/push/receipts'
import { account, call } from '../fixtures'
import { services } from '../helpers'
import {
  browserSubscription,
  eventually,
  expoBehaviour,
  expoInbox,
  expoToken,
  newSession,
  sessionOf,
  webBehaviour,
  webInbox,
} from '../push-helpers'

const s = services()
const notification = {
  title: 'Sam sent you a message',
  body: 'Hello there',
  data: { type: 'message', url: '/x' },
}

/** A member with a mobile session holding a fresh Expo token. */
async function withExpoToken(): Promise<PushTarget> {
  const me = await account()
  const token = expoToken()
  const res = await call('PUT', `/api/v1/me/sessions/${sessionOf(me.token)}/push-token`, me.token, { token })
  expect(res.status).toBe(200)
  return {
    userId: me.id,
    sessionId: sessionOf(me.token),
    kind: 'expo',
    address: token,
    p256dh: null,
    auth: null,
  }
}

/** A member with a web session subscribed in the (fake) browser. */
async function withWebSubscription() {
  const me = await account()
  const web = await newSession(me, 'web')
  const { id, ...sub } = await browserSubscription()
  const res = await call('PUT', `/api/v1/me/sessions/${web.sessionId}/web-push-subscription`, web.token, sub)
  expect(res.status).toBe(200)
  const target: PushTarget = {
    userId: me.id,
    sessionId: web.sessionId,
    kind: 'web',
    address: sub.endpoint,
    p256dh: sub.keys.p256dh,
    auth: sub.keys.auth,
  }
  return { id, target }
}

const targetExists = async (address: string) =>
  (await s.database.db.select().from(pushTargets).where(eq(pushTargets.address, address))).length === 1

async function expoRequestsFor(tokens: string[]) {
  const res = await fetch(`${inject('pushFakeUrl')}/__fake/expo/requests`)
  const { data } = (await res.json()) as { data: { messages: number; status: number; to: string[] }[] }
  const mine = new Set(tokens)
  return data.filter((r) => r.to.some((t) => mine.has(t)))
}

describe('Expo delivery', () => {
  it('sends in requests of at most 100 messages with the access token, storing one ticket per message', async () => {
    const targets = Array.from({ length: 250 }, () => ({
      userId: crypto.randomUUID(),
      sessionId: crypto.randomUUID(),
      kind: 'expo' as const,
      address: expoToken(),
      p256dh: null,
      auth: null,
    }))
    const outcome = await sendPushes(
      s,
      targets.map((target) => ({ target, notification })),
    )
    expect(outcome).toMatchObject({ sent: 250, dropped: 0, failed: 0, retry: [] })
    const requests = await expoRequestsFor(targets.map((t) => t.address))
    expect(requests.map((r) => r.messages).sort((a, b) => b - a)).toEqual([100, 100, 50])
    const [caught] = await expoInbox(targets[0]!.address)
    expect(caught).toMatchObject({
      title: notification.title,
      body: notification.body,
      data: notification.data,
    })
    const tickets = await s.database.db
      .select()
      .from(pushTickets)
      .where(
        inArray(
          pushTickets.token,
          targets.map((t) => t.address),
        ),
      )
    expect(tickets).toHaveLength(250)
  })

  it('is refused without the access token Expo demands (not retried)', async () => {
    const config = { ...s.config.push, expoAccessToken: undefined }
    const err = await sendExpoMessages(config, [{ to: expoToken(), title: 't', body: 'b' }]).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ExpoRequestError)
    expect(err).toMatchObject({ status: 401, retryable: false })
  })

  it('deletes a token whose ticket says DeviceNotRegistered', async () => {
    const target = await withExpoToken()
    await expoBehaviour(target.address, { ticket: 'DeviceNotRegistered' })
    const outcome = await sendPushes(s, [{ target, notification }])
    expect(outcome).toMatchObject({ sent: 0, dropped: 1 })
    expect(await targetExists(target.address)).toBe(false)
  })

  it('checks receipts after 15 minutes: DeviceNotRegistered deletes the token, every answered ticket is retired', async () => {
    const dead = await withExpoToken()
    const alive = await withExpoToken()
    await expoBehaviour(dead.address, { receipt: 'DeviceNotRegistered' })
    const sent = Date.now()
    await sendPushes(
      createServices(env as Env, { clock: fixedClock(new Date(sent - 3 * receiptDelayMs)) }),
      [dead, alive].map((target) => ({ target, notification })),
    )
    expect(await targetExists(dead.address)).toBe(true)
    // Too early: nothing asked, nothing retired.
    const early = createServices(env as Env, {
      clock: fixedClock(new Date(sent - 3 * receiptDelayMs + 60_000)),
    })
    const none = await checkExpoReceipts(early, { batches: 1 })
    expect(await targetExists(dead.address)).toBe(true)
    expect(none.dropped).toBe(0)

    const result = await checkExpoReceipts(s, { batches: 3 })
    expect(result.dropped).toBeGreaterThanOrEqual(1)
    expect(await targetExists(dead.address)).toBe(false)
    expect(await targetExists(alive.address)).toBe(true)
    const left = await s.database.db
      .select()
      .from(pushTickets)
      .where(inArray(pushTickets.token, [dead.address, alive.address]))
    expect(left).toEqual([])
  })

  it('hands 429/5xx back for a retry (keeping Retry-After) and the push queue delivers it later', async () => {
    const target = await withExpoToken()
    await expoBehaviour(target.address, { fail: { status: 429, count: 1, retryAfter: 2 } })
    const outcome = await sendPushes(s, [{ target, notification }])
    expect(outcome.sent).toBe(0)
    expect(outcome.retry).toHaveLength(1)
    expect(outcome.retryAfterSeconds).toBe(2)
    expect((await expoRequestsFor([target.address])).map((r) => r.status)).toEqual([429])
    expect(await expoInbox(target.address)).toEqual([])

    const flaky = await withExpoToken()
    await expoBehaviour(flaky.address, { fail: { status: 503, count: 1 } })
    const second = await sendPushes(s, [{ target: flaky, notification }])
    expect(second.retry.map((i: PushItem) => i.target.address)).toEqual([flaky.address])
    await queuePushRetry(s, second, 1)
    const delivered = await eventually(
      () => expoInbox(flaky.address),
      (m) => m.some((x) => x.ticketId),
      15_000,
    )
    expect(delivered.filter((x) => x.ticketId)).toHaveLength(1)
  }, 20_000)
})

describe('Web Push delivery', () => {
  it('encrypts for the subscription: the push service decrypts exactly what was sent, VAPID verified', async () => {
    const { id, target } = await withWebSubscription()
    const outcome = await sendPushes(s, [{ target, notification }])
    expect(outcome).toMatchObject({ sent: 1, dropped: 0, failed: 0 })
    const [caught, ...more] = await webInbox(id)
    expect(more).toEqual([])
    expect(JSON.parse(caught!.payload)).toEqual(notification)
    expect(caught!.vapid.aud).toBe(inject('pushFakeUrl'))
    expect(caught!.vapid.sub).toBe('mailto:push@rapport.test')
    expect(caught!.vapid.exp).toBeLessThanOrEqual(Date.now() / 1000 + 24 * 3600)
    expect(caught!.ttl).toBeGreaterThan(0)
  })

  it('a subscription made with another server key is refused (403), not deleted', async () => {
    const me = await account()
    const web = await newSession(me, 'web')
    const foreignKey = (await browserSubscription()).keys.p256dh // any other P-256 point
    const { id: _id, ...sub } = await browserSubscription(foreignKey)
    await call('PUT', `/api/v1/me/sessions/${web.sessionId}/web-push-subscription`, web.token, sub)
    const target: PushTarget = {
      userId: me.id,
      sessionId: web.sessionId,
      kind: 'web',
      address: sub.endpoint,
      p256dh: sub.keys.p256dh,
      auth: sub.keys.auth,
    }
    const outcome = await sendPushes(s, [{ target, notification }])
    expect(outcome).toMatchObject({ sent: 0, failed: 1, dropped: 0 })
    expect(await targetExists(sub.endpoint)).toBe(true)
  })

  it('404 and 410 delete the subscription; 429 comes back for a retry', async () => {
    for (const gone of [404, 410] as const) {
      const { id, target } = await withWebSubscription()
      await webBehaviour(id, { gone })
      expect(await sendPushes(s, [{ target, notification }])).toMatchObject({ dropped: 1 })
      expect(await targetExists(target.address)).toBe(false)
    }
    const { id, target } = await withWebSubscription()
    await webBehaviour(id, { fail: { status: 429, count: 1, retryAfter: 30 } })
    const outcome = await sendPushes(s, [{ target, notification }])
    expect(outcome.retry).toHaveLength(1)
    expect(outcome.retryAfterSeconds).toBe(30)
    expect(await sendPushes(s, outcome.retry)).toMatchObject({ sent: 1 })
    expect(await webInbox(id)).toHaveLength(1)
  })
})
