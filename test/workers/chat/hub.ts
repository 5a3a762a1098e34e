import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { inboxEntries, skips, users } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import { presenceKey, subscribersKey } from '../../../src/services/chat/presence'
import { startSession } from '../../../src/services/accounts/sessions'
import { conversationName } from '../../../src/services/chat/protocol'
import { openConversation } from '../chat-socket'
import { member } from '../fixtures'
import { api, services } from '../helpers'

const s = services()
const hubs = (env as Env).USER_HUB

type Frame = { type: string; [k: string]: unknown }

/** Open a hub socket through the Worker and collect its frames and its close event. */
async function connect(token: string) {
  const res = await api('/api/v1/hub/socket', {
    headers: { Upgrade: 'websocket', Authorization: `Bearer ${token}` },
  })
  expect(res.status).toBe(101)
  const ws = res.webSocket!
  const frames: Frame[] = []
  const waiters: (() => void)[] = []
  let closed: { code: number; reason: string } | undefined
  const wake = () => waiters.splice(0).forEach((w) => w())
  ws.addEventListener('message', (e) => {
    frames.push(JSON.parse(e.data as string))
    wake()
  })
  ws.addEventListener('close', (e) => {
    closed = { code: e.code, reason: e.reason }
    wake()
  })
  ws.accept()
  const until = async <T>(probe: () => T | undefined, what: string): Promise<T> => {
    for (;;) {
      const found = probe()
      if (found !== undefined) return found
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what}; have ${JSON.stringify(frames)}`)), 3000)
        waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }
  const next = (predicate: (f: Frame) => boolean = () => true) =>
    until(() => {
      const i = frames.findIndex(predicate)
      return i >= 0 ? frames.splice(i, 1)[0] : undefined
    }, 'matching frame')
  const close = () => until(() => closed, 'close event')
  const send = (frame: unknown) => ws.send(JSON.stringify(frame))
  return { ws, next, close, send, frames }
}

/** A second device: another session of the same member. */
async function anotherDevice(user: { id: string }) {
  const session = await startSession(
    s,
    { id: user.id, role: 'member' },
    { client: 'web', ip: '198.51.100.7' },
  )
  return { token: session.accessToken, sessionId: session.sessionId }
}

const sessionIdOf = async (token: string) =>
  JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sid as string

const settle = () => new Promise((r) => setTimeout(r, 150))

describe('hub hello', () => {
  it('greets with unread totals per box, archived conversations left out', async () => {
    const me = await member()
    const [a, b, c, gone] = [await member(), await member(), await member(), await member()]
    const row = (peerId: string, box: 'intros' | 'chats', unread: number) => ({
      ownerId: me.id,
      peerId,
      box,
      lastSeq: unread,
      lastSenderId: peerId,
      lastBody: 'x',
      lastAt: new Date(),
      unreadCount: unread,
    })
    await s.database.db
      .insert(inboxEntries)
      .values([
        row(a.id, 'intros', 2),
        row(b.id, 'chats', 3),
        row(c.id, 'chats', 1),
        row(gone.id, 'chats', 7),
      ])
    await s.database.db.insert(skips).values({ subjectId: gone.id, objectId: me.id })
    const hub = await connect(me.token)
    expect(await hub.next()).toEqual({
      type: 'hello',
      userId: me.id,
      devices: 1,
      unread: { intros: 2, chats: 4 },
    })
    hub.ws.close()
  })
})

describe('deliver', () => {
  it('reaches every device of the member and nobody else', async () => {
    const me = await member()
    const other = await member()
    const phone = await connect(me.token)
    const laptop = await connect((await anotherDevice(me)).token)
    const bystander = await connect(other.token)
    for (const socket of [phone, laptop, bystander]) await socket.next((f) => f.type === 'hello')
    const frame = { type: 'typing', peerId: other.id } as const
    await hubs.getByName(me.id).deliver(frame)
    expect(await phone.next((f) => f.type === 'typing')).toEqual(frame)
    expect(await laptop.next((f) => f.type === 'typing')).toEqual(frame)
    await settle()
    expect(bystander.frames.filter((f) => f.type === 'typing')).toEqual([])
    for (const socket of [phone, laptop, bystander]) socket.ws.close()
  })

  it('is a no-op for a member with no socket open', async () => {
    const me = await member()
    await expect(hubs.getByName(me.id).deliver({ type: 'typing', peerId: me.id })).resolves.toBeUndefined()
  })
})

describe('presence', () => {
  it('reports current status on subscribe, then online and offline changes', async () => {
    const watcher = await member()
    const watched = await member()
    const w = await connect(watcher.token)
    await w.next((f) => f.type === 'hello')
    w.send({ type: 'subscribe', userIds: [watched.id] })
    expect(await w.next((f) => f.type === 'subscribed')).toEqual({
      type: 'subscribed',
      statuses: { [watched.id]: 'offline' },
      refused: [],
      evicted: [],
    })
    expect(await s.redis.sismember(subscribersKey(watched.id), watcher.id)).toBe(1)

    const before = new Date(Date.now() - 1000)
    await s.database.db
      .update(users)
      .set({ lastOnlineAt: new Date('2026-01-01') })
      .where(eq(users.id, watched.id))
    const target = await connect(watched.token)
    expect(await w.next((f) => f.type === 'presence')).toEqual({
      type: 'presence',
      userId: watched.id,
      status: 'online',
    })
    expect(await s.redis.get(presenceKey(watched.id))).toBe('online')
    const [row] = await s.database.db.select().from(users).where(eq(users.id, watched.id))
    expect(row!.lastOnlineAt.getTime()).toBeGreaterThan(before.getTime())

    target.ws.close(1000, 'bye')
    expect(await w.next((f) => f.type === 'presence')).toEqual({
      type: 'presence',
      userId: watched.id,
      status: 'recently-online',
    })
    expect(await s.redis.get(presenceKey(watched.id))).toBe('recently-online')

    // A second subscriber sees the status as it stands now.
    w.send({ type: 'unsubscribe', userIds: [watched.id] })
    expect(await w.next((f) => f.type === 'unsubscribed')).toEqual({
      type: 'unsubscribed',
      userIds: [watched.id],
    })
    expect(await s.redis.sismember(subscribersKey(watched.id), watcher.id)).toBe(0)
    w.send({ type: 'subscribe', userIds: [watched.id] })
    expect((await w.next((f) => f.type === 'subscribed')).statuses).toEqual({
      [watched.id]: 'recently-online',
    })
    w.ws.close()
  })

  it('counts conversation sockets reported by trackConversation as online', async () => {
    const me = await member()
    const hub = hubs.getByName(me.id)
    await hub.trackConversation('a:b', true)
    expect(await s.redis.get(presenceKey(me.id))).toBe('online')
    await hub.trackConversation('a:c', true)
    await hub.trackConversation('a:b', false)
    expect(await s.redis.get(presenceKey(me.id))).toBe('online')
    await hub.trackConversation('a:c', false)
    expect(await s.redis.get(presenceKey(me.id))).toBe('recently-online')
  })

  it('forgets a conversation that vanished without close events at the next refresh, and keeps a live one', async () => {
    const me = await member()
    const peer = await member()
    const hub = hubs.getByName(me.id)
    // A report from a Conversation that was then killed (a deploy sends no close events).
    await hub.trackConversation(`${me.id}:gone`, true)
    expect(await s.redis.get(presenceKey(me.id))).toBe('online')
    expect(await runDurableObjectAlarm(hub)).toBe(true)
    expect(await s.redis.get(presenceKey(me.id))).toBe('recently-online')
    const left = await runInDurableObject(hub, async (_o, state) => [...(await state.storage.list()).keys()])
    expect(left.filter((k) => k.startsWith('conversation:'))).toEqual([])

    // A conversation socket that is still open keeps the member online, however old its report.
    const socket = await openConversation(me.token, peer.id)
    await expect.poll(() => s.redis.get(presenceKey(me.id))).toBe('online')
    const key = `conversation:${conversationName(me.id, peer.id)}`
    await runInDurableObject(hub, (_o, state) => state.storage.put(key, Date.now() - 3 * 3600_000))
    expect(await runDurableObjectAlarm(hub)).toBe(true)
    expect(await s.redis.get(presenceKey(me.id))).toBe('online')
    const renewed = await runInDurableObject(hub, (_o, state) => state.storage.get<number>(key))
    expect(renewed).toBeGreaterThan(Date.now() - 60_000)
    socket.ws.close()
    await expect.poll(() => s.redis.get(presenceKey(me.id))).toBe('recently-online')
  })

  it('refuses members with a skip either way, and shows shadow-banned members offline without events', async () => {
    const me = await member()
    const iSkipped = await member()
    const skippedMe = await member()
    const banned = await member({ profile: { shadowBannedAt: new Date() } })
    await s.database.db.insert(skips).values([
      { subjectId: me.id, objectId: iSkipped.id },
      { subjectId: skippedMe.id, objectId: me.id },
    ])
    const bannedHub = await connect(banned.token)
    await bannedHub.next((f) => f.type === 'hello')
    const hub = await connect(me.token)
    await hub.next((f) => f.type === 'hello')
    hub.send({ type: 'subscribe', userIds: [iSkipped.id, skippedMe.id, banned.id] })
    const subscribed = await hub.next((f) => f.type === 'subscribed')
    expect(subscribed.statuses).toEqual({ [banned.id]: 'offline' })
    expect(new Set(subscribed.refused as string[])).toEqual(new Set([iSkipped.id, skippedMe.id]))

    const skipper = await connect(skippedMe.token)
    await skipper.next((f) => f.type === 'hello')
    bannedHub.ws.close()
    await settle()
    expect(hub.frames.filter((f) => f.type === 'presence')).toEqual([])
    for (const socket of [hub, skipper]) socket.ws.close()
  })

  it('does not push to a watcher skipped after subscribing', async () => {
    const me = await member()
    const watched = await member()
    const hub = await connect(me.token)
    await hub.next((f) => f.type === 'hello')
    hub.send({ type: 'subscribe', userIds: [watched.id] })
    await hub.next((f) => f.type === 'subscribed')
    await s.database.db.insert(skips).values({ subjectId: watched.id, objectId: me.id })
    const target = await connect(watched.token)
    await target.next((f) => f.type === 'hello')
    await settle()
    expect(hub.frames.filter((f) => f.type === 'presence')).toEqual([])
    for (const socket of [hub, target]) socket.ws.close()
  })

  it('keeps at most 500 subscriptions, evicting the oldest', async () => {
    const me = await member()
    const hub = await connect(me.token)
    await hub.next((f) => f.type === 'hello')
    const first = Array.from({ length: 500 }, () => crypto.randomUUID())
    hub.send({ type: 'subscribe', userIds: first })
    expect((await hub.next((f) => f.type === 'subscribed')).evicted).toEqual([])
    const extra = [crypto.randomUUID(), crypto.randomUUID()]
    hub.send({ type: 'subscribe', userIds: extra })
    const second = await hub.next((f) => f.type === 'subscribed')
    expect(second.evicted).toEqual(first.slice(0, 2))
    expect(await s.redis.sismember(subscribersKey(first[0]!), me.id)).toBe(0)
    expect(await s.redis.sismember(subscribersKey(first[2]!), me.id)).toBe(1)
    hub.ws.close()
  })

  it('answers malformed subscriptions with an error frame', async () => {
    const me = await member()
    const hub = await connect(me.token)
    await hub.next((f) => f.type === 'hello')
    for (const userIds of [
      undefined,
      'x',
      ['not-a-uuid'],
      Array.from({ length: 501 }, () => crypto.randomUUID()),
    ]) {
      hub.send({ type: 'subscribe', userIds })
      expect(await hub.next((f) => f.type === 'error')).toMatchObject({
        code: 'validation_failed',
        frameType: 'subscribe',
        path: 'userIds',
      })
    }
    hub.ws.close()
  })

  it('drops subscriptions when the last hub socket closes', async () => {
    const me = await member()
    const watched = await member()
    const hub = await connect(me.token)
    await hub.next((f) => f.type === 'hello')
    hub.send({ type: 'subscribe', userIds: [watched.id] })
    await hub.next((f) => f.type === 'subscribed')
    hub.ws.close()
    await expect.poll(() => s.redis.sismember(subscribersKey(watched.id), me.id)).toBe(0)
  })
})

describe('closeSessions', () => {
  it("closes only the named session's sockets, or all of them for null", async () => {
    const me = await member()
    const phone = await connect(me.token)
    const laptopDevice = await anotherDevice(me)
    const laptop = await connect(laptopDevice.token)
    await phone.next((f) => f.type === 'hello')
    await laptop.next((f) => f.type === 'hello')

    await hubs.getByName(me.id).closeSessions(await sessionIdOf(me.token), 4003, 'session revoked')
    expect(await phone.close()).toEqual({ code: 4003, reason: 'session revoked' })
    await hubs.getByName(me.id).deliver({ type: 'typing', peerId: me.id })
    expect(await laptop.next((f) => f.type === 'typing')).toEqual({ type: 'typing', peerId: me.id })
    expect(await s.redis.get(presenceKey(me.id))).toBe('online')

    await hubs.getByName(me.id).closeSessions(null, 4003, 'signed out everywhere')
    expect(await laptop.close()).toEqual({ code: 4003, reason: 'signed out everywhere' })
    await expect.poll(() => s.redis.get(presenceKey(me.id))).toBe('recently-online')
  })
})
