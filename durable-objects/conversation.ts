import { type Services, createServices } from '../src/services'
import {
  type ChatMessage,
  maxHistoryPage,
  maxResumeMessages,
  messagesAfter,
  messagesBefore,
  pairOf,
  toChatMessage,
} from '../src/services/chat/history'
import {
  type ChatError,
  type ConversationClientFrame,
  ConversationClientFrameSchema,
  type ConversationServerFrame,
  conversationMembers,
} from '../src/services/chat/protocol'
import { markConversationRead, reactToMessage } from '../src/services/chat/read'
import { SendThrottle, isBodyTooLong } from '../src/services/chat/rules'
import {
  type Ack,
  type BatchedMessage,
  type PairFacts,
  type WrittenMessage,
  checkIntro,
  findAck,
  loadPairFacts,
  replyIfAllowed,
  standingRefusal,
  writeMessage,
  writeMessages,
} from '../src/services/chat/send'
import { tierFeatures } from '../src/services/accounts/tiers'
import { databaseFailure, isUniqueViolation } from '../src/db/errors'
import { describeError, everyInterval } from '../src/lib/log'
import { HibernatingSocketObject, type SocketIdentity } from './hibernation'
import type { UserHub } from './user-hub'

/** What `send` takes: over RPC from the REST route, or from a socket's `send` frame. */
export interface SendInput {
  senderId: string
  clientId: string
  body: string
  /** A voice message's object in the audio bucket (already stored). */
  audioKey?: string
}

/** `created` is false when the client id had been used: `ack` is then the original message's. */
export type SendResult =
  { ok: true; ack: Ack; created: boolean } | { ok: false; error: ChatError & { clientId: string } }

/** How long the pair's facts (standing, skips, who wrote first) are trusted without asking again. */
const factsTtlMs = 5_000
/**
 * From this age on (a random point in the range, so conversations that loaded together do not
 * all ask again together), a frame that finds the facts still fresh starts loading them again in
 * the background. A busy conversation then never holds a frame for a load (a database round trip,
 * tens of milliseconds from the edge), at the price of loading a little more often; an idle one
 * loads when its next frame comes. The last quarter second leaves room for the load to land.
 */
const factsRefreshAfterMs = [0.8 * factsTtlMs, factsTtlMs - 250] as const
/** At most one "is typing" hint per member per this interval reaches their peer's inbox socket. */
const typingHintIntervalMs = 3_000
/** Recent acknowledgements kept in memory, so a resend is answered without a database round trip. */
const rememberedAcks = 1_000
/** A resume sends at most this many pages of {@link maxResumeMessages}; then `complete: false`. */
const maxResumePages = 20
/**
 * Most replies stored by one statement. Batches form only while a write is in flight, so their
 * size follows the load; the bound keeps one statement's size (bodies are up to 5,000 characters)
 * and the wait of the first message in it modest.
 */
const maxBatch = 64

/** A reply waiting in the write queue, with whoever waits for its result. */
interface QueuedWrite {
  key: string
  message: BatchedMessage
  origin?: WebSocket
  resolve(result: SendResult): void
  reject(reason: unknown): void
}

/**
 * One Durable Object per pair of members (named by their two ids in sorted order, see
 * `conversationName`), holding both members' sockets for that conversation.
 *
 * **Postgres is the record, this object is the traffic controller.** A message is acknowledged
 * only after the statement that stores it committed (src/services/chat/send.ts), and nothing
 * the object keeps in memory is needed for correctness: the pair's facts (cached a few seconds),
 * recent acknowledgements (for cheap resends) and hub stubs are all rebuilt lazily after the
 * runtime evicts the object, hibernates it, or restarts it. Sockets survive hibernation with
 * their identity in the attachment; a client whose socket did not survive reconnects and sends
 * `resume` with the last sequence number it saw.
 *
 * **Ordering.** A Durable Object handles one event at a time, but only until it awaits something
 * other than its own storage: a `fetch` to Postgres lets the next frame in. Sends (and resumes)
 * are therefore judged one after another on {@link serial}, so sequence numbers are broadcast in
 * the order they were assigned and a resume never interleaves with a live message.
 *
 * **Group commit.** A reply (neither an intro nor a first message) is judged on {@link serial}
 * and then joins a write queue, freeing the serial queue for the next frame. One write is in
 * flight at a time; replies that arrive meanwhile go out together in the next one, a single
 * statement (`writeMessages`). Each is acknowledged only after its batch committed, acks and
 * deliveries in sequence order; a failed batch acknowledges none of its messages and each sender
 * gets the error. Sends that need more (refusals, intros, first messages) and resumes wait until
 * the queue is empty, then run alone as before. A quiet conversation writes each message at once.
 *
 * The protocol (every frame, with examples) is in docs/chat-protocol.md, "Conversation socket".
 */
/** While the database is down every frame fails alike: one log line per interval. */
const frameOutageLog = everyInterval(60_000)

export class Conversation extends HibernatingSocketObject<
  typeof ConversationClientFrameSchema,
  ConversationServerFrame
> {
  protected readonly clientFrames = ConversationClientFrameSchema
  private services?: Services
  private facts: { value: PairFacts; at: number; refreshAt: number } | null = null
  /**
   * The load under way, started by one event (a frame's or a background refresh) and awaited by
   * this object's later events; like {@link queuedByKey}, it never leaves this object.
   */
  private factsLoading: Promise<PairFacts> | null = null
  /**
   * Bumped whenever the facts in memory become newer than anything a load already under way can
   * return (a skip told to this object, a first message written here): such a load's result still
   * answers whoever awaits it, but does not replace the facts in memory.
   */
  private factsVersion = 0
  private queue: Promise<unknown> = Promise.resolve()
  private readonly acks = new Map<string, Ack>()
  private readonly hubs = new Map<string, DurableObjectStub<UserHub>>()
  private readonly typingHintAt = new Map<string, number>()
  private readonly throttle = new SendThrottle()
  /** Replies waiting for the next write (see {@link enqueueWrite}); `writing` while one is in flight. */
  private readonly writeQueue: QueuedWrite[] = []
  /**
   * The result of each queued reply by sender and client id, so the same id sent again while the
   * first is being written gets the first one's ack. Pending results live in this object only and
   * are awaited by its own later events (one I/O context; see durable-objects/hibernation.ts).
   */
  private readonly queuedByKey = new Map<string, Promise<SendResult>>()
  private writing = false
  private readonly drained: (() => void)[] = []

  // ---------------------------------------------------------------------------------------------
  // RPC (REST routes, UserHub)

  /**
   * Send a message from `senderId` to the other member: the same pipeline as a socket `send`
   * frame, broadcasting to every socket of both members.
   */
  async send(input: SendInput): Promise<SendResult> {
    return this.accept(input)
  }

  /** Mark the conversation read by `readerId` (up to `upToSeq`, default all) and send the receipt. */
  async markRead(readerId: string, upToSeq?: number): Promise<{ readSeq: number }> {
    return { readSeq: await this.read(readerId, upToSeq ?? null) }
  }

  /** Close `userId`'s sockets of `sessionId` (all of theirs when null): the session was revoked. */
  async closeSessions(userId: string, sessionId: string | null, code: number, reason: string): Promise<void> {
    this.closeSocketsOf(userId, sessionId, code, reason)
  }

  /** Drop the cached pair facts, e.g. right after a skip, so the next frame sees it. */
  async forgetFacts(): Promise<void> {
    this.facts = null
    this.factsChanged()
  }

  // ---------------------------------------------------------------------------------------------
  // Socket lifecycle

  protected async onConnect(ws: WebSocket, identity: SocketIdentity): Promise<void> {
    const peerId = this.peerOf(identity.userId)
    const [mine, peers] = [this.sockets({ userId: identity.userId }), this.sockets({ userId: peerId })]
    if (mine.length === 1) this.toHub(identity.userId, (hub) => hub.trackConversation(this.name(), true))
    const [meVisible, peerVisible] = await Promise.all([
      this.presenceVisible(identity.userId),
      this.presenceVisible(peerId),
    ])
    const connected = peers.length > 0 && peerVisible ? [identity.userId, peerId] : [identity.userId]
    this.sendFrame(ws, { type: 'hello', userId: identity.userId, connected })
    if (meVisible) this.broadcastPresence(identity.userId, 'online', ws)
  }

  protected async onDisconnect(ws: WebSocket, identity: SocketIdentity): Promise<void> {
    // A member with another tab still open has not left.
    if (this.sockets({ userId: identity.userId, except: ws }).length === 0) {
      this.toHub(identity.userId, (hub) => hub.trackConversation(this.name(), false))
      if (await this.presenceVisible(identity.userId))
        this.broadcastPresence(identity.userId, 'recently-online', ws)
    }
  }

  /** Whether another member may see `userId` come and go here: not across a skip, not when shadow-banned. */
  private async presenceVisible(userId: string): Promise<boolean> {
    try {
      const facts = await this.pairFacts()
      return !facts.skipped && facts.members.get(userId)?.shadowBanned === false
    } catch {
      return false
    }
  }

  /** Whether `userId` holds a socket here (the UserHub checks the conversations it counts as presence). */
  async hasSockets(userId: string): Promise<boolean> {
    return this.sockets({ userId }).length > 0
  }

  protected async onFrame(
    ws: WebSocket,
    identity: SocketIdentity,
    frame: ConversationClientFrame,
  ): Promise<void> {
    try {
      await this.handle(ws, identity.userId, frame)
    } catch (err) {
      // Postgres unreachable, most likely. Nothing was acknowledged, so the client may retry
      // (a send with the same clientId can never be stored twice).
      if (databaseFailure(err) !== 'unavailable' || frameOutageLog()) {
        this.s.log.error('chat.frame_failed', { frameType: frame.type, error: describeError(err) })
      }
      this.sendFrame(ws, {
        type: 'error',
        code: 'service_unavailable',
        frameType: frame.type,
        ...(frame.type === 'send' ? { clientId: frame.clientId } : {}),
        message: 'Something went wrong on our side; try again shortly',
      })
    }
  }

  private async handle(ws: WebSocket, userId: string, frame: ConversationClientFrame): Promise<void> {
    switch (frame.type) {
      case 'send': {
        const result = await this.accept({ senderId: userId, clientId: frame.clientId, body: frame.body }, ws)
        if (!result.ok) this.sendFrame(ws, { type: 'error', ...result.error })
        return
      }
      case 'resume':
        // After every queued reply is stored, so the resume sees it and it never overtakes one.
        return this.serial(async () => {
          await this.flushWrites()
          return this.resume(ws, userId, frame.afterSeq)
        })
      case 'history': {
        const before = frame.beforeSeq ?? null
        const messages = await messagesBefore(this.s, userId, this.peerOf(userId), before, maxHistoryPage)
        this.sendFrame(ws, {
          type: 'history',
          beforeSeq: before,
          messages,
          more: messages.length === maxHistoryPage,
        })
        return
      }
      case 'typing':
        return this.typing(userId)
      case 'read':
        await this.read(userId, frame.seq ?? null)
        return
      case 'react':
        return this.react(ws, userId, frame.seq, frame.emoji)
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sending

  /**
   * The send pipeline: dedup → standing (verification, skips, recipient gone, length) → intro
   * rules → one-statement write → acknowledgement and delivery. Refusals are answered, never
   * thrown; a database failure is (the socket gets `unavailable`, REST a 500).
   */
  private accept(input: SendInput, origin?: WebSocket): Promise<SendResult> {
    // Judged on arrival, before queueing: a burst is refused at once rather than queued.
    const waitMs = this.throttle.take(input.senderId, Date.now())
    if (waitMs > 0) {
      const error = {
        code: 'rate_limited',
        subreason: 'slow-down',
        retryAfter: Math.ceil(waitMs / 1000),
        message: 'You are sending messages faster than anyone can read them; wait a moment',
        clientId: input.clientId,
      } as const
      return Promise.resolve({ ok: false, error })
    }
    // A reply joins the write queue and frees the queue of sends at once, so the sends behind it
    // are judged (and can join the same batch) while it is being written; its result comes later.
    const decided = this.serial<SendResult | { later: Promise<SendResult> }>(async () => {
      const { senderId, clientId, body } = input
      const recipientId = this.peerOf(senderId)
      const key = `${senderId}\n${clientId}`
      const remembered = this.acks.get(key)
      if (remembered) {
        if (origin) this.sendFrame(origin, { type: 'ack', ...remembered })
        return { ok: true, ack: remembered, created: false }
      }
      const queued = this.queuedByKey.get(key)
      if (queued) {
        // The same client id again while the first is being written: the first one's ack.
        return {
          later: queued.then((first) => {
            if (!first.ok) return first
            if (origin) this.sendFrame(origin, { type: 'ack', ...first.ack })
            return { ok: true, ack: first.ack, created: false }
          }),
        }
      }

      const answered = await this.replyOnFactsDue(input, key, origin)
      if (answered) return answered
      const facts = await this.pairFacts()
      const sender = facts.members.get(senderId)
      const recipient = facts.members.get(recipientId)
      // A reply changes none of the pair's facts (neither who has messaged whom nor who has
      // done so visibly), so facts loaded while replies are being written stay true.
      if (
        sender?.messaged &&
        (sender.messagedVisibly || sender.shadowBanned) &&
        recipient?.messagedVisibly &&
        !standingRefusal(facts, senderId, recipientId, body)
      ) {
        return {
          later: this.enqueueWrite({
            key,
            origin,
            message: {
              senderId,
              clientId,
              body,
              audioKey: input.audioKey ?? null,
              hidden: sender.shadowBanned,
            },
          }),
        }
      }
      // Refusals, intros and first messages: after every queued reply is stored, one at a time.
      await this.flushWrites()
      return this.acceptAlone(input, origin)
    })
    return decided.then((r) => ('later' in r ? r.later : r))
  }

  /**
   * A send that finds the pair's facts expired (or none loaded yet) while nothing is being written
   * — the usual case for a message after a pause — has them loaded and, when it is a plain reply,
   * is written in the same round trip (`replyIfAllowed`) instead of waiting for a load before its
   * write. Null when the send goes the usual way, which then finds the facts fresh in memory.
   */
  private async replyOnFactsDue(
    input: SendInput,
    key: string,
    origin?: WebSocket,
  ): Promise<SendResult | null> {
    const due = !this.facts || Date.now() - this.facts.at >= factsTtlMs
    if (!due || this.factsLoading || this.writing || this.writeQueue.length > 0) return null
    if (isBodyTooLong(input.body)) return null
    const { senderId, clientId, body } = input
    const recipientId = this.peerOf(senderId)
    const reply = replyIfAllowed(this.s, {
      senderId,
      recipientId,
      clientId,
      body,
      audioKey: input.audioKey ?? null,
    })
    // This statement is the pair's facts load: frames that need the facts meanwhile (typing,
    // presence, receipts) wait for what it brings rather than loading them again. Should it fail
    // (a client id used before), they get a load of their own.
    this.loadFacts(
      reply.then(
        (r) => r.facts,
        () => loadPairFacts(this.s, senderId, recipientId),
      ),
    ).catch(() => undefined)
    let outcome: Awaited<typeof reply>
    try {
      outcome = await reply
    } catch (err) {
      if (!isUniqueViolation(err)) throw err
      // The client id was used before (a resend after this object lost its memory): the original ack.
      const stored = await findAck(this.s, senderId, recipientId, clientId)
      if (!stored) throw err
      return this.acknowledge(key, stored, false, origin)
    }
    if (!outcome.written) return null
    const hidden = outcome.facts.members.get(senderId)?.shadowBanned ?? false
    return this.delivered(
      key,
      { senderId, clientId, body, audioKey: input.audioKey ?? null, hidden },
      false,
      outcome.written,
      origin,
    )
  }

  /**
   * A send that does not go through the write queue — refused, an intro (the intro rules and
   * their counters), or the sender's first message to this member (the `messaged` relation) —
   * decided on the pair's facts and written on its own.
   */
  private async acceptAlone(input: SendInput, origin?: WebSocket): Promise<SendResult> {
    const { senderId, clientId, body } = input
    const recipientId = this.peerOf(senderId)
    const key = `${senderId}\n${clientId}`
    const facts = await this.pairFacts()
    let refusal = standingRefusal(facts, senderId, recipientId, body)
    const sender = facts.members.get(senderId)
    const recipient = facts.members.get(recipientId)
    const isIntro = !recipient?.messagedVisibly
    if (!refusal && isIntro && sender) {
      refusal = await checkIntro(this.s, {
        sender,
        body,
        voice: input.audioKey !== undefined,
        newConversation: !sender.messaged,
      })
    }
    if (refusal) {
      // A resend of a message stored before the rules turned (a skip since, a counter bumped by
      // the first attempt) is still that message: it keeps its acknowledgement.
      const stored = await findAck(this.s, senderId, recipientId, clientId)
      if (!stored) return { ok: false, error: { ...refusal, clientId } }
      return this.acknowledge(key, stored, false, origin)
    }

    const hidden = sender!.shadowBanned
    const written = await writeMessage(this.s, {
      senderId,
      recipientId,
      clientId,
      body,
      audioKey: input.audioKey ?? null,
      isIntro,
      hidden,
      recordMessaged: !sender!.messaged,
    })
    if (!written.created) return this.acknowledge(key, written.ack, false, origin)
    this.recordMessaged(facts, senderId, hidden)
    return this.delivered(
      key,
      { senderId, clientId, body, audioKey: input.audioKey ?? null, hidden },
      isIntro,
      written,
      origin,
    )
  }

  /** After a message's commit: remember and send its ack, then deliver it. */
  private delivered(
    key: string,
    m: BatchedMessage,
    isIntro: boolean,
    written: WrittenMessage,
    origin?: WebSocket,
  ): SendResult {
    const recipientId = this.peerOf(m.senderId)
    const { memberA, memberB } = pairOf(m.senderId, recipientId)
    const message = toChatMessage(this.s, {
      memberA,
      memberB,
      seq: written.ack.seq,
      senderId: m.senderId,
      clientId: m.clientId,
      body: m.body,
      audioKey: m.audioKey,
      isIntro,
      hiddenFromRecipient: m.hidden,
      reaction: null,
      reactedAt: null,
      createdAt: new Date(written.ack.createdAt),
    })
    const result = this.acknowledge(key, written.ack, true, origin)
    this.deliver(m.senderId, recipientId, message, m.hidden, written.recipientInbox, origin)
    return result
  }

  // ---------------------------------------------------------------------------------------------
  // Group commit

  /**
   * Queue a reply for writing and resolve with its result once the batch it goes out in has
   * committed (rejecting, like a lone write, when that batch failed). A write starts at once when
   * none is in flight, so a quiet conversation adds no wait; replies arriving during a write go
   * out together in the next one.
   */
  private enqueueWrite(entry: Omit<QueuedWrite, 'resolve' | 'reject'>): Promise<SendResult> {
    const result = new Promise<SendResult>((resolve, reject) =>
      this.writeQueue.push({ ...entry, resolve, reject }),
    )
    this.queuedByKey.set(entry.key, result)
    if (!this.writing) void this.writeBatches()
    return result
  }

  /** Write queued replies, up to {@link maxBatch} per statement, until none are left. */
  private async writeBatches(): Promise<void> {
    this.writing = true
    try {
      while (this.writeQueue.length > 0) {
        const batch = this.writeQueue.splice(0, maxBatch)
        // writeBatch settles every message itself; should it throw, none may be left waiting.
        await this.writeBatch(batch).catch((err: unknown) => {
          for (const q of batch) {
            this.queuedByKey.delete(q.key)
            q.reject(err)
          }
        })
      }
    } finally {
      this.writing = false
      for (const wake of this.drained.splice(0)) wake()
    }
  }

  /** Resolves once nothing is queued or being written. */
  private flushWrites(): Promise<void> {
    if (!this.writing && this.writeQueue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.drained.push(resolve))
  }

  /**
   * One batch: one statement for all of it. Acks and deliveries follow the commit, in sequence
   * order. When the statement fails because a client id was used before (a resend after this
   * object lost its memory), the batch is written again one message at a time, which answers
   * that one with its original ack; any other failure fails every message of the batch.
   */
  private async writeBatch(batch: QueuedWrite[]): Promise<void> {
    const [a, b] = this.members()
    const one = (q: QueuedWrite) =>
      writeMessage(this.s, {
        ...q.message,
        recipientId: this.peerOf(q.message.senderId),
        isIntro: false,
        recordMessaged: false,
      })
    let outcomes: PromiseSettledResult<WrittenMessage>[]
    try {
      const written =
        batch.length === 1
          ? [await one(batch[0]!)]
          : await writeMessages(
              this.s,
              a,
              b,
              batch.map((q) => q.message),
            )
      outcomes = written.map((value) => ({ status: 'fulfilled', value }))
    } catch (err) {
      if (batch.length === 1 || !isUniqueViolation(err)) {
        outcomes = batch.map(() => ({ status: 'rejected', reason: err }))
      } else {
        outcomes = []
        for (const q of batch)
          outcomes.push(
            await one(q).then(
              (value) => ({ status: 'fulfilled', value }) as const,
              (reason: unknown) => ({ status: 'rejected', reason }) as const,
            ),
          )
      }
    }
    batch.forEach((q, i) => {
      this.queuedByKey.delete(q.key)
      const outcome = outcomes[i]!
      if (outcome.status === 'rejected') return q.reject(outcome.reason)
      const written = outcome.value
      try {
        q.resolve(
          written.created
            ? this.delivered(q.key, q.message, false, written, q.origin)
            : this.acknowledge(q.key, written.ack, false, q.origin),
        )
      } catch (err) {
        // Stored, but answering failed: the sender hears of an error and its retry finds the ack.
        q.reject(err)
      }
    })
  }

  private acknowledge(key: string, ack: Ack, created: boolean, origin?: WebSocket): SendResult {
    this.acks.set(key, ack)
    if (this.acks.size > rememberedAcks) this.acks.delete(this.acks.keys().next().value!)
    if (origin) this.sendFrame(origin, { type: 'ack', ...ack })
    return { ok: true, ack, created }
  }

  /**
   * After the commit: the sender's other sockets and (unless the sender is shadow-banned) the
   * recipient's conversation sockets get the message; the recipient's inbox socket gets it with
   * the inbox entry's box and unread count.
   */
  private deliver(
    senderId: string,
    recipientId: string,
    message: ChatMessage,
    hidden: boolean,
    inbox: { box: 'intros' | 'chats'; unread: number } | null,
    origin?: WebSocket,
  ) {
    const frame = { type: 'message', message } as const
    for (const ws of this.sockets({ userId: senderId, except: origin })) this.sendFrame(ws, frame)
    if (hidden) return
    for (const ws of this.sockets({ userId: recipientId })) this.sendFrame(ws, frame)
    if (inbox) {
      this.toHub(recipientId, (hub) => hub.deliver({ type: 'message', peerId: senderId, message, ...inbox }))
      // Not on this conversation's socket: a push may be due. Queued after the acknowledgement
      // and never awaited here, so push work (and its outages) never slows the chat path; the
      // push consumer decides on the member's setting and the channel rule.
      if (this.sockets({ userId: recipientId }).length === 0) {
        const event = {
          type: 'message',
          recipientId,
          senderId,
          box: inbox.box,
          body: message.body,
          voice: message.audioUrl !== null,
          at: message.createdAt,
        } as const
        this.ctx.waitUntil(
          this.env.PUSH.send(event).catch((err: unknown) => {
            this.s.log.warn('push.enqueue_failed', { recipientId, error: describeError(err) })
          }),
        )
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Other frames

  /** Everything after `afterSeq` the member may see, in order, then `resumed`. */
  private async resume(ws: WebSocket, userId: string, afterSeq: number) {
    const peerId = this.peerOf(userId)
    let last = afterSeq
    let complete = false
    for (let page = 0; page < maxResumePages && !complete; page++) {
      const batch = await messagesAfter(this.s, userId, peerId, last, maxResumeMessages)
      for (const message of batch) this.sendFrame(ws, { type: 'message', message })
      if (batch.length > 0) last = batch[batch.length - 1]!.seq
      complete = batch.length < maxResumeMessages
    }
    this.sendFrame(ws, { type: 'resumed', lastSeq: last, complete })
  }

  /**
   * Typing hints go to the peer's conversation sockets and (throttled) their inbox socket. Not
   * stored; silently dropped for shadow-banned senders, blocked pairs and departed peers.
   */
  private async typing(userId: string) {
    const peerId = this.peerOf(userId)
    const facts = await this.pairFacts()
    const me = facts.members.get(userId)
    if (!me?.live || me.shadowBanned || facts.skipped || !facts.members.get(peerId)?.live) return
    for (const ws of this.sockets({ userId: peerId })) this.sendFrame(ws, { type: 'typing', userId })
    const now = Date.now()
    if (now - (this.typingHintAt.get(userId) ?? 0) >= typingHintIntervalMs) {
      this.typingHintAt.set(userId, now)
      this.toHub(peerId, (hub) => hub.deliver({ type: 'typing', peerId: userId }))
    }
  }

  /**
   * Move the reader's marker; tell their own sockets (other devices clear the badge), and — when
   * the marker moved, the receipt's recipient's tier has `readReceipts` and the reader is not
   * shadow-banned — send the peer a read receipt.
   */
  private async read(readerId: string, upToSeq: number | null): Promise<number> {
    const peerId = this.peerOf(readerId)
    const result = await markConversationRead(this.s, readerId, peerId, upToSeq)
    for (const ws of this.sockets({ userId: readerId })) {
      this.sendFrame(ws, { type: 'read-marker', seq: result.readSeq })
    }
    // The reader's inbox sockets too: a device showing only the inbox clears its badge.
    this.toHub(readerId, (hub) => hub.deliver({ type: 'read-marker', peerId, seq: result.readSeq }))
    if (!result.advanced) return result.readSeq
    const facts = await this.pairFacts()
    const reader = facts.members.get(readerId)
    const peer = facts.members.get(peerId)
    if (!reader || reader.shadowBanned || facts.skipped || !peer) return result.readSeq
    if (!(await tierFeatures(this.s, peer.tierId)).readReceipts) return result.readSeq
    const receipt = { type: 'read', seq: result.readSeq, readAt: result.readAt } as const
    for (const ws of this.sockets({ userId: peerId })) this.sendFrame(ws, receipt)
    this.toHub(peerId, (hub) => hub.deliver({ type: 'read', peerId: readerId, seq: result.readSeq }))
    return result.readSeq
  }

  /** One emoji (or '' to clear) on a message the peer sent; both members' sockets hear of it. */
  private async react(ws: WebSocket, userId: string, seq: number, emojiOrEmpty: string) {
    const peerId = this.peerOf(userId)
    const facts = await this.pairFacts()
    const me = facts.members.get(userId)
    if (!me?.live || facts.skipped) {
      return this.sendFrame(ws, {
        type: 'error',
        code: 'blocked',
        seq,
        message: 'You cannot react here',
      })
    }
    const emoji = emojiOrEmpty === '' ? null : emojiOrEmpty
    // A shadow-banned member's reaction is echoed to them only and never stored: the stored
    // reaction is part of the message both members load.
    if (!(await reactToMessage(this.s, userId, peerId, seq, emoji, !me.shadowBanned))) {
      return this.sendFrame(ws, {
        type: 'error',
        code: 'not_found',
        seq,
        message: 'You can react only to a message the other member sent',
      })
    }
    const reaction = { type: 'reaction', seq, emoji, userId } as const
    for (const socket of this.sockets({ userId })) this.sendFrame(socket, reaction)
    if (me.shadowBanned) return
    for (const socket of this.sockets({ userId: peerId })) this.sendFrame(socket, reaction)
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private get s(): Services {
    return (this.services ??= createServices(this.env))
  }

  /** The object's name, `conversationName(a, b)`: who this conversation is between. */
  private name(): string {
    this.members()
    return this.ctx.id.name!
  }

  private members(): [string, string] {
    const members = conversationMembers(this.ctx.id.name ?? '')
    if (!members) throw new Error('Conversation objects must be addressed by conversationName(a, b)')
    return members
  }

  private peerOf(userId: string): string {
    const [a, b] = this.members()
    if (userId === a) return b
    if (userId === b) return a
    throw new Error('Not a member of this conversation')
  }

  /**
   * The pair's facts, from memory when younger than {@link factsTtlMs} (and then, past their
   * refresh point, loaded again in the background for the frames after this one); one load at a
   * time.
   */
  private pairFacts(): Promise<PairFacts> {
    const now = Date.now()
    if (this.facts && now - this.facts.at < factsTtlMs) {
      if (now >= this.facts.refreshAt && !this.factsLoading) {
        // A failed refresh changes nothing: the frame that finds the facts expired loads them
        // itself and answers the failure.
        this.loadFacts().catch(() => undefined)
      }
      return Promise.resolve(this.facts.value)
    }
    return this.factsLoading ?? this.loadFacts()
  }

  /**
   * `senderId` has now written to the peer (visibly unless `hidden`). Marked in the facts this
   * frame was decided on and in those in memory, which a background load may have replaced in
   * the meantime with rows read before the write; a load still under way is superseded.
   */
  private recordMessaged(decidedOn: PairFacts, senderId: string, hidden: boolean) {
    for (const facts of new Set([decidedOn, this.facts?.value])) {
      const sender = facts?.members.get(senderId)
      if (!sender) continue
      sender.messaged = true
      if (!hidden) sender.messagedVisibly = true
    }
    this.factsChanged()
  }

  /** The facts in memory are newer than any load under way: the next load starts afresh. */
  private factsChanged() {
    this.factsVersion++
    this.factsLoading = null
  }

  /**
   * Load the pair's facts (or take them from `load`, a statement that brings them along with other
   * work) as the one load under way; they become the facts in memory unless those changed since
   * the load began (then they are newer than what it read).
   */
  private loadFacts(load?: Promise<PairFacts>): Promise<PairFacts> {
    const at = Date.now()
    const version = this.factsVersion
    const [earliest, latest] = factsRefreshAfterMs
    const loading: Promise<PairFacts> = (load ?? loadPairFacts(this.s, ...this.members()))
      .then((value) => {
        if (version === this.factsVersion) {
          this.facts = { value, at, refreshAt: at + earliest + Math.random() * (latest - earliest) }
        }
        return value
      })
      .finally(() => {
        if (this.factsLoading === loading) this.factsLoading = null
      })
    this.factsLoading = loading
    return loading
  }

  /** Run `task` after every task queued before it (a failed task does not block the next). */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task)
    this.queue = run.catch(() => undefined)
    return run
  }

  /**
   * Call a member's UserHub without holding up this object: in order per member (one stub each,
   * and calls on one stub arrive in order), failures logged. A failed stub is replaced.
   */
  private toHub(userId: string, call: (hub: DurableObjectStub<UserHub>) => Promise<void>) {
    let hub = this.hubs.get(userId)
    if (!hub) {
      hub = this.env.USER_HUB.getByName(userId)
      this.hubs.set(userId, hub)
    }
    this.ctx.waitUntil(
      call(hub).catch((err: unknown) => {
        this.hubs.delete(userId)
        this.s.log.warn('chat.hub_call_failed', { userId, error: describeError(err) })
      }),
    )
  }

  private broadcastPresence(userId: string, status: 'online' | 'recently-online', origin: WebSocket) {
    for (const other of this.sockets({ except: origin })) {
      if ((other.deserializeAttachment() as SocketIdentity).userId !== userId) {
        this.sendFrame(other, { type: 'presence', userId, status })
      }
    }
  }
}
