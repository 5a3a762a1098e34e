import { createServices, type Services } from '../src/services'
import { unreadTotals } from '../src/services/chat/inbox'
import {
  maxPresenceSubscriptions,
  presenceOf,
  presenceRefreshMs,
  type PresenceStatus,
  setPresence,
  shadowBanned,
  skippedEitherWay,
  subscribersKey,
} from '../src/services/chat/presence'
import {
  type HubClientFrame,
  HubClientFrameSchema,
  type HubDeliveryFrame,
  type HubServerFrame,
  type PushTokenRefusalCode,
  pushTokenRefusalCodes,
} from '../src/services/chat/protocol'
import { describeError } from '../src/lib/log'
import { ApiError } from '../src/lib/http/errors'
import { clearPushTarget, registerExpoToken } from '../src/services/push/targets'
import { HibernatingSocketObject, type SocketIdentity } from './hibernation'

/**
 * A Conversation that reported open sockets and then vanished (a deploy kills Durable Objects
 * without close events) must not keep its member "online": the alarm asks each tracked one every
 * {@link presenceRefreshMs} and renews or forgets its report ({@link verifyConversations}); a
 * report not renewed for this long (the Conversation did not answer) no longer counts.
 */
const trackedConversationTtlMs = 15 * 60_000
const trackedPrefix = 'conversation:'

/**
 * One Durable Object per member (named by their id): their inbox socket, one per signed-in
 * device. Everything happening elsewhere reaches the member through it: Conversations call
 * `deliver` with new-message, typing and read-receipt frames, the visitors feature with visitor
 * frames, and other members' hubs with presence changes.
 *
 * Presence. The member is online while they hold any hub socket here or any conversation
 * socket (each Conversation reports that with `trackConversation`, kept in durable storage
 * because this object may hibernate or be evicted between events). Every transition is written
 * to Redis and `users.last_online_at` (src/services/chat/presence.ts) and pushed to the hubs of
 * members who subscribed; while online, an alarm refreshes both every few minutes. Transitions
 * are computed by one serialized `syncPresence`, since a connect and a disconnect awaiting I/O
 * at the same time could otherwise each see a stale count.
 *
 * Subscriptions (`subscribe` / `unsubscribe` frames) belong to the hub, not to one socket, so
 * every device of the member gets the same presence events; they are dropped when the last hub
 * socket closes. The list lives in storage (oldest first, at most 500); the reverse index —
 * who watches member X — is the Redis set `presence-subscribers:X`, which X's hub reads when X
 * comes or goes.
 */
export class UserHub extends HibernatingSocketObject<typeof HubClientFrameSchema, HubServerFrame> {
  protected readonly clientFrames = HubClientFrameSchema
  private services?: Services
  private presenceQueue: Promise<void> = Promise.resolve()

  private get s(): Services {
    return (this.services ??= createServices(this.env))
  }

  /** The member this hub belongs to: its name (every caller uses `getByName(userId)`). */
  private async userId(): Promise<string | undefined> {
    return this.ctx.id.name ?? (await this.ctx.storage.get<string>('userId'))
  }

  protected async onConnect(ws: WebSocket, identity: SocketIdentity): Promise<void> {
    if (!this.ctx.id.name) await this.ctx.storage.put('userId', identity.userId)
    let unread: { intros: number; chats: number } | null = null
    try {
      unread = await unreadTotals(this.s, identity.userId)
    } catch (err) {
      this.s.log.error('hub.unread_failed', { userId: identity.userId, error: describeError(err) })
    }
    this.sendFrame(ws, {
      type: 'hello',
      userId: identity.userId,
      devices: this.sockets({ userId: identity.userId }).length,
      unread,
    })
    // Fanning the change out to watchers must not hold up the upgrade response.
    this.ctx.waitUntil(this.syncPresence())
  }

  protected async onFrame(ws: WebSocket, identity: SocketIdentity, frame: HubClientFrame): Promise<void> {
    if (frame.type === 'push-token') return this.pushToken(ws, identity, frame.token)
    const wanted = [...new Set(frame.userIds.map((id) => id.toLowerCase()))].filter(
      (id) => id !== identity.userId,
    )
    if (frame.type === 'subscribe') await this.subscribe(ws, identity.userId, wanted)
    else await this.unsubscribe(ws, identity.userId, wanted)
  }

  protected async onDisconnect(): Promise<void> {
    if (this.sockets().length === 0) {
      const userId = await this.userId()
      if (userId) await this.dropSubscriptions(userId, await this.subscriptions())
      await this.ctx.storage.delete('subscriptions')
    }
    await this.syncPresence()
  }

  /**
   * `{"type":"push-token","token":"ExponentPushToken[…]"}` registers or replaces the socket's
   * session's Expo token (`""` clears it), with the same rules as the REST route; answered with
   * `push-token-registered` / `push-token-cleared`, or an error frame with the REST error code.
   */
  private async pushToken(ws: WebSocket, identity: SocketIdentity, token: string): Promise<void> {
    const caller = { userId: identity.userId, sessionId: identity.sessionId }
    try {
      if (token === '') {
        await clearPushTarget(this.s, caller, identity.sessionId)
        this.sendFrame(ws, { type: 'push-token-cleared' })
        return
      }
      const target = await registerExpoToken(this.s, caller, identity.sessionId, token)
      this.sendFrame(ws, {
        type: 'push-token-registered',
        token: target.address,
        updatedAt: target.updatedAt,
      })
    } catch (err) {
      if (!(err instanceof ApiError) || !isPushTokenRefusal(err.code)) throw err
      this.sendFrame(ws, { type: 'error', code: err.code, frameType: 'push-token', message: err.message })
    }
  }

  // -------------------------------------------------------------------------------------------
  // RPC (docs/chat-protocol.md, "Inbox socket")

  /** Send `frame` to every hub socket of this member; a no-op when none is open. */
  async deliver(frame: HubDeliveryFrame): Promise<void> {
    if (frame.type === 'presence') {
      // Only for members still watched; otherwise heal the sender's stale reverse index.
      const watched = (await this.subscriptions()).includes(frame.userId)
      if (!watched || this.sockets().length === 0) {
        const userId = await this.userId()
        if (userId) await this.s.redis.srem(subscribersKey(frame.userId), userId)
        return
      }
    }
    for (const ws of this.sockets()) this.sendFrame(ws, frame)
  }

  /** A Conversation reports whether this member holds sockets in it (`name` = its DO name). */
  async trackConversation(name: string, open: boolean): Promise<void> {
    if (open) await this.ctx.storage.put(`${trackedPrefix}${name}`, Date.now())
    else await this.ctx.storage.delete(`${trackedPrefix}${name}`)
    await this.syncPresence()
  }

  /**
   * Close this member's hub sockets of `sessionId` (null: every session) and ask each tracked
   * Conversation to close theirs: a revoked session must not keep listening anywhere.
   */
  async closeSessions(sessionId: string | null, code: number, reason: string): Promise<void> {
    const userId = await this.userId()
    if (!userId) return
    this.closeSocketsOf(userId, sessionId, code, reason)
    const names = [...(await this.ctx.storage.list({ prefix: trackedPrefix })).keys()].map((k) =>
      k.slice(trackedPrefix.length),
    )
    const results = await Promise.allSettled(
      names.map((name) =>
        this.env.CONVERSATION.getByName(name).closeSessions(userId, sessionId, code, reason),
      ),
    )
    for (const r of results) {
      if (r.status === 'rejected') {
        this.s.log.warn('hub.close_sessions_failed', { userId, error: describeError(r.reason) })
      }
    }
  }

  /** While online: refresh the presence key's TTL and `last_online_at`, then re-arm. */
  override async alarm(): Promise<void> {
    const userId = await this.userId()
    if (!userId || !(await this.ctx.storage.get<boolean>('online'))) return
    await this.verifyConversations(userId)
    if (!(await this.isOnline())) {
      await this.syncPresence()
      return
    }
    await setPresence(this.s, userId, 'online')
    await this.ctx.storage.setAlarm(Date.now() + presenceRefreshMs)
  }

  // -------------------------------------------------------------------------------------------
  // Presence

  /**
   * Ask every tracked Conversation whether the member still holds sockets there: renew the
   * reports it confirms, forget those it denies (unless a new report arrived meanwhile), keep
   * the rest until they expire.
   */
  private async verifyConversations(userId: string): Promise<void> {
    const tracked = [...(await this.ctx.storage.list<number>({ prefix: trackedPrefix }))]
    if (tracked.length === 0) return
    const answers = await Promise.allSettled(
      tracked.map(([key]) =>
        this.env.CONVERSATION.getByName(key.slice(trackedPrefix.length)).hasSockets(userId),
      ),
    )
    const current = await this.ctx.storage.get<number>(tracked.map(([key]) => key))
    const renewed: Record<string, number> = {}
    const gone: string[] = []
    answers.forEach((answer, i) => {
      const [key, at] = tracked[i]!
      if (answer.status !== 'fulfilled' || current.get(key) !== at) return
      if (answer.value) renewed[key] = Date.now()
      else gone.push(key)
    })
    if (gone.length) await this.ctx.storage.delete(gone)
    if (Object.keys(renewed).length) await this.ctx.storage.put(renewed)
  }

  private async isOnline(): Promise<boolean> {
    if (this.sockets().length > 0) return true
    const tracked = await this.ctx.storage.list<number>({ prefix: trackedPrefix })
    const fresh = Date.now() - trackedConversationTtlMs
    const stale = [...tracked].filter(([, at]) => at < fresh).map(([key]) => key)
    if (stale.length) await this.ctx.storage.delete(stale)
    return tracked.size > stale.length
  }

  /** Serialized: recompute online/offline and act on a transition only. Failures are logged. */
  private syncPresence(): Promise<void> {
    this.presenceQueue = this.presenceQueue
      .then(() => this.applyPresence())
      .catch((err) => {
        this.s.log.error('hub.presence_failed', { error: describeError(err) })
      })
    return this.presenceQueue
  }

  private async applyPresence(): Promise<void> {
    const userId = await this.userId()
    if (!userId) return
    const online = await this.isOnline()
    if (online === ((await this.ctx.storage.get<boolean>('online')) ?? false)) return
    await this.ctx.storage.put('online', online)
    const status: PresenceStatus = online ? 'online' : 'recently-online'
    await setPresence(this.s, userId, status)
    if (online) await this.ctx.storage.setAlarm(Date.now() + presenceRefreshMs)
    else await this.ctx.storage.deleteAlarm()
    await this.fanOut(userId, status)
  }

  /** Tell the hubs watching this member, except across a skip; shadow-banned members stay silent. */
  private async fanOut(userId: string, status: PresenceStatus): Promise<void> {
    const watchers = await this.s.redis.smembers(subscribersKey(userId))
    if (watchers.length === 0 || (await shadowBanned(this.s, [userId])).size > 0) return
    const refused = await skippedEitherWay(this.s, userId, watchers)
    await Promise.allSettled(
      watchers
        .filter((w) => !refused.has(w))
        .map((w) => this.env.USER_HUB.getByName(w).deliver({ type: 'presence', userId, status })),
    )
  }

  // -------------------------------------------------------------------------------------------
  // Subscriptions

  private async subscriptions(): Promise<string[]> {
    return (await this.ctx.storage.get<string[]>('subscriptions')) ?? []
  }

  private async subscribe(ws: WebSocket, userId: string, wanted: string[]): Promise<void> {
    const [refused, banned] = await Promise.all([
      skippedEitherWay(this.s, userId, wanted),
      shadowBanned(this.s, wanted),
    ])
    const allowed = wanted.filter((id) => !refused.has(id))
    // Re-subscribing moves an id to the newest end; beyond the cap the oldest go.
    const merged = [...(await this.subscriptions()).filter((id) => !allowed.includes(id)), ...allowed]
    const evicted = merged.slice(0, Math.max(0, merged.length - maxPresenceSubscriptions))
    const kept = merged.slice(evicted.length)
    await this.ctx.storage.put('subscriptions', kept)
    await this.dropSubscriptions(userId, evicted)
    if (allowed.length) {
      const pipeline = this.s.redis.pipeline()
      for (const id of allowed) pipeline.sadd(subscribersKey(id), userId)
      await pipeline.exec()
    }
    const current = await presenceOf(this.s, allowed)
    const statuses: Record<string, PresenceStatus> = {}
    for (const id of allowed) statuses[id] = banned.has(id) ? 'offline' : current[id]!
    this.sendFrame(ws, { type: 'subscribed', statuses, refused: [...refused], evicted })
  }

  private async unsubscribe(ws: WebSocket, userId: string, ids: string[]): Promise<void> {
    const current = await this.subscriptions()
    await this.ctx.storage.put(
      'subscriptions',
      current.filter((id) => !ids.includes(id)),
    )
    await this.dropSubscriptions(userId, ids)
    this.sendFrame(ws, { type: 'unsubscribed', userIds: ids })
  }

  private async dropSubscriptions(userId: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return
    const pipeline = this.s.redis.pipeline()
    for (const id of ids) pipeline.srem(subscribersKey(id), userId)
    await pipeline.exec()
  }
}

function isPushTokenRefusal(code: string): code is PushTokenRefusalCode {
  return (pushTokenRefusalCodes as readonly string[]).includes(code)
}
