import { abortAllDurableObjects, runInDurableObject } from 'cloudflare:test'
import { and, eq } from 'drizzle-orm'
import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { closeCodes } from '../../../src/services/chat/protocol'
import { inboxEntries, skips } from '../../../src/db/schema'
import { signAccessToken } from '../../../src/services/accounts/tokens'
import { createTier } from '../../../src/services/accounts/tiers'
import {
  connect,
  conversationStub,
  openConversation,
  openPair,
  opener,
  sendMessage,
  seqOf,
  storedMessages,
} from '../chat-socket'
import { call, member } from '../fixtures'
import { services } from '../helpers'

const s = services()

async function inbox(owner: string, peer: string) {
  const [row] = await s.database.db
    .select()
    .from(inboxEntries)
    .where(and(eq(inboxEntries.ownerId, owner), eq(inboxEntries.peerId, peer)))
  return row
}

/**
 * Abort every Durable Object once in-flight queue sends have landed: the Conversation queues a
 * push event after each acknowledgement (never awaited), and aborting an object while that send
 * is in flight crashes the local runtime (workerd, signal 11) instead of dropping the send.
 */
async function abortObjects() {
  await new Promise((resolve) => setTimeout(resolve, 250))
  await abortAllDurableObjects()
}

describe('conversation socket: messages', () => {
  it('delivers messages both ways in order, acknowledging each only once it is stored', async () => {
    const alice = await member()
    const bob = await member()
    const a = await openConversation(alice.token, bob.id)
    const b = await openConversation(bob.token, alice.id)
    const hub = await connect('/api/v1/hub/socket', bob.token)

    const first = opener()
    const ack = await sendMessage(a, first, 'a-1')
    expect(ack).toMatchObject({ type: 'ack', clientId: 'a-1', seq: 1 })
    // Acked → committed: the row is there the moment the ack is.
    const [row] = await storedMessages(alice.id, bob.id)
    expect(row).toMatchObject({ seq: 1, senderId: alice.id, body: first, isIntro: true })
    expect(row!.createdAt.toISOString()).toBe(ack.createdAt)
    const delivered = await b.next((f) => f.type === 'message')
    expect(delivered.message).toEqual({
      seq: 1,
      clientId: 'a-1',
      senderId: alice.id,
      body: first,
      audioUrl: null,
      reaction: null,
      createdAt: ack.createdAt,
    })
    expect(await hub.next((f) => f.type === 'message')).toMatchObject({
      peerId: alice.id,
      box: 'intros',
      unread: 1,
      message: { seq: 1, body: first },
    })
    expect(await inbox(bob.id, alice.id)).toMatchObject({ box: 'intros', unreadCount: 1, lastSeq: 1 })
    expect(await inbox(alice.id, bob.id)).toMatchObject({ box: 'chats', unreadCount: 0, lastSeq: 1 })

    // Bob answers (no longer an intro: Alice wrote first), then Alice twice more.
    expect(await sendMessage(b, 'hi yourself', 'b-1')).toMatchObject({ type: 'ack', seq: 2 })
    expect(await sendMessage(a, 'how are you?', 'a-2')).toMatchObject({ type: 'ack', seq: 3 })
    expect(await sendMessage(a, 'and your week?', 'a-3')).toMatchObject({ type: 'ack', seq: 4 })
    expect((await a.next((f) => f.type === 'message')).message).toMatchObject({ seq: 2, senderId: bob.id })
    const seen = [
      (await b.next((f) => f.type === 'message')).message,
      (await b.next((f) => f.type === 'message')).message,
    ]
    expect(seen.map((m) => (m as { seq: number }).seq)).toEqual([3, 4])

    expect((await storedMessages(alice.id, bob.id)).map((m) => [m.seq, m.senderId, m.isIntro])).toEqual([
      [1, alice.id, true],
      [2, bob.id, false],
      [3, alice.id, false],
      [4, alice.id, false],
    ])
    // Bob replied: his entry moved to chats, with Alice's two later messages unread; sending
    // cleared Alice's.
    expect(await inbox(bob.id, alice.id)).toMatchObject({ box: 'chats', unreadCount: 2, lastSeq: 4 })
    expect(await inbox(alice.id, bob.id)).toMatchObject({ box: 'chats', unreadCount: 0, lastSeq: 4 })
    for (const x of [a, b, hub]) x.ws.close()
  })

  it("sends a member's own message to their other sockets, and hands out gap-free sequence numbers under concurrency", async () => {
    const alice = await member()
    const bob = await member()
    await call('POST', `/api/v1/conversations/${bob.id}/messages`, alice.token, {
      clientId: 'x',
      body: opener(),
    })
    const phone = await openConversation(alice.token, bob.id)
    const laptop = await openConversation(alice.token, bob.id)
    const b = await openConversation(bob.token, alice.id)
    const ids = Array.from({ length: 12 }, (_, i) => `burst-${i}`)
    for (const [i, id] of ids.entries())
      (i % 2 ? b : phone).send({ type: 'send', clientId: id, body: opener(`m${i}`) })
    const acks = await Promise.all(
      ids.map((id, i) => (i % 2 ? b : phone).next((f) => f.type === 'ack' && f.clientId === id)),
    )
    expect(acks.map((a) => a.seq).sort((x, y) => (x as number) - (y as number))).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 2),
    )
    // The laptop sees all twelve (its own member's and Bob's), in sequence order.
    const onLaptop: number[] = []
    for (let i = 0; i < 12; i++) onLaptop.push(seqOf(await laptop.next((f) => f.type === 'message')))
    expect(onLaptop).toEqual([...onLaptop].sort((x, y) => x - y))
    expect((await storedMessages(alice.id, bob.id)).map((m) => m.seq)).toEqual(
      Array.from({ length: 13 }, (_, i) => i + 1),
    )
    for (const x of [phone, laptop, b]) x.ws.close()
  })

  it('answers the same client id with the same ack and never stores it twice', async () => {
    const alice = await member()
    const bob = await member()
    const a = await openConversation(alice.token, bob.id)
    const b = await openConversation(bob.token, alice.id)
    const body = opener()
    // Twice at once over the socket, once more over REST.
    a.send({ type: 'send', clientId: 'dup', body })
    a.send({ type: 'send', clientId: 'dup', body })
    const first = await a.next((f) => f.type === 'ack')
    const second = await a.next((f) => f.type === 'ack')
    expect(second).toEqual(first)
    const rest = await call('POST', `/api/v1/conversations/${bob.id}/messages`, alice.token, {
      clientId: 'dup',
      body,
    })
    expect(rest.status).toBe(201)
    expect(await rest.json()).toEqual({ clientId: 'dup', seq: first.seq, createdAt: first.createdAt })
    expect(await storedMessages(alice.id, bob.id)).toHaveLength(1)
    // Bob got it once.
    await b.next((f) => f.type === 'message')
    expect((await b.drain()).filter((f) => f.type === 'message')).toEqual([])
    a.ws.close()
    b.ws.close()
  })

  it('answers a resend after the object lost its memory from the database, still without a second row', async () => {
    const alice = await member()
    const bob = await member()
    const body = opener()
    const a = await openConversation(alice.token, bob.id)
    const ack = await sendMessage(a, body, 'keep')
    await abortObjects()
    const again = await openConversation(alice.token, bob.id)
    expect(await sendMessage(again, body, 'keep')).toEqual(ack)
    expect(await storedMessages(alice.id, bob.id)).toHaveLength(1)
    again.ws.close()
  })
})

describe('conversation socket: reconnecting', () => {
  it('resumes with everything missed, in order and without gaps, then says resumed', async () => {
    const alice = await member()
    const bob = await member()
    const a = await openConversation(alice.token, bob.id)
    const b = await openConversation(bob.token, alice.id)
    await sendMessage(a, opener(), 'r-1')
    const seenByBob = seqOf(await b.next((f) => f.type === 'message'))
    b.ws.close()
    for (let i = 2; i <= 6; i++) await sendMessage(a, opener(`while you were away ${i}`), `r-${i}`)

    const back = await openConversation(bob.token, alice.id)
    back.send({ type: 'resume', afterSeq: seenByBob })
    const missed: number[] = []
    for (let i = 0; i < 5; i++) missed.push(seqOf(await back.next((f) => f.type === 'message')))
    expect(missed).toEqual([2, 3, 4, 5, 6])
    expect(await back.next((f) => f.type === 'resumed')).toEqual({
      type: 'resumed',
      lastSeq: 6,
      complete: true,
    })
    a.ws.close()
    back.ws.close()
  })

  it('loses nothing acknowledged when the object is aborted, and continues the sequence after', async () => {
    const alice = await member()
    const bob = await member()
    const a = await openConversation(alice.token, bob.id)
    const acks = [await sendMessage(a, opener(), 'd-1'), await sendMessage(a, opener('second'), 'd-2')]
    expect(acks.map((x) => x.seq)).toEqual([1, 2])

    await abortObjects()

    const b = await openConversation(bob.token, alice.id)
    b.send({ type: 'resume', afterSeq: 0 })
    expect((await b.next((f) => f.type === 'message')).message).toMatchObject({ seq: 1, clientId: 'd-1' })
    expect((await b.next((f) => f.type === 'message')).message).toMatchObject({ seq: 2, clientId: 'd-2' })
    expect(await b.next((f) => f.type === 'resumed')).toMatchObject({ lastSeq: 2 })
    const a2 = await openConversation(alice.token, bob.id)
    expect(await sendMessage(a2, 'after the restart', 'd-3')).toMatchObject({ type: 'ack', seq: 3 })
    expect((await b.next((f) => f.type === 'message')).message).toMatchObject({ seq: 3 })
    a2.ws.close()
    b.ws.close()
  })

  it('pages history backwards, 50 at a time, ascending', async () => {
    const alice = await member()
    const bob = await member()
    const a = await openConversation(alice.token, bob.id)
    await sendMessage(a, opener(), 'h-0')
    const b = await openConversation(bob.token, alice.id)
    await sendMessage(b, 'reply', 'h-1')
    // 58 more, written straight through the service for speed.
    for (let i = 2; i < 60; i++)
      await conversationStub(alice.id, bob.id).send({ senderId: alice.id, clientId: `h-${i}`, body: `n${i}` })
    a.send({ type: 'history' })
    const latest = await a.next((f) => f.type === 'history')
    const seqs = (latest.messages as { seq: number }[]).map((m) => m.seq)
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 11))
    expect(latest).toMatchObject({ beforeSeq: null, more: true })
    a.send({ type: 'history', beforeSeq: 11 })
    const older = await a.next((f) => f.type === 'history')
    expect((older.messages as { seq: number }[]).map((m) => m.seq)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    )
    expect(older.more).toBe(false)
    a.ws.close()
    b.ws.close()
  })
})

describe('conversation socket: typing, read receipts, reactions', () => {
  it('forwards typing to the other member only, and drops it from a shadow-banned member', async () => {
    const alice = await member()
    const bob = await member()
    const shady = await member({ profile: { shadowBannedAt: new Date() } })
    const a = await openConversation(alice.token, bob.id)
    const a2 = await openConversation(alice.token, bob.id)
    const b = await openConversation(bob.token, alice.id)
    const bobHub = await connect('/api/v1/hub/socket', bob.token)
    a.send({ type: 'typing' })
    expect(await b.next((f) => f.type === 'typing')).toEqual({ type: 'typing', userId: alice.id })
    expect(await bobHub.next((f) => f.type === 'typing')).toEqual({ type: 'typing', peerId: alice.id })
    expect((await a2.drain()).filter((f) => f.type === 'typing')).toEqual([])
    bobHub.ws.close()

    const fromShady = await openConversation(shady.token, bob.id)
    const bobWithShady = await openConversation(bob.token, shady.id)
    fromShady.send({ type: 'typing' })
    expect((await bobWithShady.drain()).filter((f) => f.type === 'typing')).toEqual([])
    for (const x of [a, a2, b, fromShady, bobWithShady]) x.ws.close()
  })

  it("sends a read receipt only when the receipt's recipient's tier has readReceipts", async () => {
    const gold = await createTier(s, {
      name: `gold-${crypto.randomUUID().slice(0, 8)}`,
      features: { readReceipts: true },
    })
    const goldie = await member({ user: { tierId: gold.id } })
    const plain = await member()
    const g = await openConversation(goldie.token, plain.id)
    const p = await openConversation(plain.token, goldie.id)
    await sendMessage(g, opener(), 'g-1')
    await sendMessage(g, opener('second'), 'g-2')
    await p.next((f) => f.type === 'message')

    // Plain reads Goldie's messages: Goldie (readReceipts) gets the receipt, on her inbox socket too.
    const goldHub = await connect('/api/v1/hub/socket', goldie.token)
    p.send({ type: 'read' })
    expect(await p.next((f) => f.type === 'read-marker')).toEqual({ type: 'read-marker', seq: 2 })
    expect(await g.next((f) => f.type === 'read')).toMatchObject({
      type: 'read',
      seq: 2,
      readAt: expect.any(String),
    })
    expect(await goldHub.next((f) => f.type === 'read')).toEqual({ type: 'read', peerId: plain.id, seq: 2 })
    goldHub.ws.close()
    expect(await inbox(plain.id, goldie.id)).toMatchObject({ unreadCount: 0, readSeq: 2 })
    // Reading again moves nothing and sends nothing.
    p.send({ type: 'read' })
    await p.next((f) => f.type === 'read-marker')
    expect((await g.drain()).filter((f) => f.type === 'read')).toEqual([])

    // Goldie reads Plain's reply: Plain's tier has no readReceipts, so no receipt.
    await sendMessage(p, 'hello back', 'p-1')
    await g.next((f) => f.type === 'message')
    expect(await inbox(goldie.id, plain.id)).toMatchObject({ unreadCount: 1 })
    g.send({ type: 'read', seq: 3 })
    expect(await g.next((f) => f.type === 'read-marker')).toEqual({ type: 'read-marker', seq: 3 })
    expect((await p.drain()).filter((f) => f.type === 'read')).toEqual([])
    expect(await inbox(goldie.id, plain.id)).toMatchObject({ unreadCount: 0, readSeq: 3 })

    // The RPC the REST route uses does the same.
    expect(await conversationStub(goldie.id, plain.id).markRead(plain.id)).toEqual({ readSeq: 3 })
    g.ws.close()
    p.ws.close()
  })

  it("tells the reader's inbox sockets where their marker is, so a device showing only the inbox clears its badge", async () => {
    const alice = await member()
    const bob = await member()
    const a = await openConversation(alice.token, bob.id)
    await sendMessage(a, opener(), 'm-1')
    await sendMessage(a, opener('again'), 'm-2')
    const bobPhone = await connect('/api/v1/hub/socket', bob.token)
    await bobPhone.next((f) => f.type === 'hello')
    const b = await openConversation(bob.token, alice.id)
    b.send({ type: 'read', seq: 1 })
    expect(await bobPhone.next((f) => f.type === 'read-marker')).toEqual({
      type: 'read-marker',
      peerId: alice.id,
      seq: 1,
    })
    // Over REST too (the same RPC), and never to the peer's inbox.
    const aliceHub = await connect('/api/v1/hub/socket', alice.token)
    await aliceHub.next((f) => f.type === 'hello')
    expect(await conversationStub(alice.id, bob.id).markRead(bob.id)).toEqual({ readSeq: 2 })
    expect(await bobPhone.next((f) => f.type === 'read-marker')).toEqual({
      type: 'read-marker',
      peerId: alice.id,
      seq: 2,
    })
    expect((await aliceHub.drain()).filter((f) => f.type === 'read-marker')).toEqual([])
    for (const x of [a, b, bobPhone, aliceHub]) x.ws.close()
  })

  it('stores one reaction on the other member’s message, forwards it, and clears it', async () => {
    const alice = await member()
    const bob = await member()
    const a = await openConversation(alice.token, bob.id)
    const b = await openConversation(bob.token, alice.id)
    await sendMessage(a, opener(), 'm-1')
    b.send({ type: 'react', seq: 1, emoji: '👍🏽' })
    const frame = { type: 'reaction', seq: 1, emoji: '👍🏽', userId: bob.id }
    expect(await a.next((f) => f.type === 'reaction')).toEqual(frame)
    expect(await b.next((f) => f.type === 'reaction')).toEqual(frame)
    expect((await storedMessages(alice.id, bob.id))[0]).toMatchObject({ reaction: '👍🏽' })

    b.send({ type: 'react', seq: 1, emoji: '❤️' })
    expect(await a.next((f) => f.type === 'reaction')).toMatchObject({ emoji: '❤️' })
    b.send({ type: 'react', seq: 1, emoji: '' })
    expect(await a.next((f) => f.type === 'reaction')).toMatchObject({ emoji: null })
    expect((await storedMessages(alice.id, bob.id))[0]).toMatchObject({ reaction: null, reactedAt: null })

    // Not on one's own message, not on a message that does not exist, one emoji only.
    a.send({ type: 'react', seq: 1, emoji: '👍' })
    expect(await a.next((f) => f.type === 'error')).toMatchObject({ code: 'not_found', seq: 1 })
    b.send({ type: 'react', seq: 99, emoji: '👍' })
    expect(await b.next((f) => f.type === 'error')).toMatchObject({ code: 'not_found', seq: 99 })
    for (const emoji of ['ok', '👍👍', 'x'.repeat(20)]) {
      b.send({ type: 'react', seq: 1, emoji })
      expect(await b.next((f) => f.type === 'error')).toMatchObject({
        code: 'validation_failed',
        path: 'emoji',
      })
    }
    a.ws.close()
    b.ws.close()
  })
})

describe('conversation socket: shadow-banned members and skips', () => {
  it('never sends a read receipt that covers a shadow-banned member’s hidden message', async () => {
    const gold = await createTier(s, {
      name: `gold-${crypto.randomUUID().slice(0, 8)}`,
      features: { readReceipts: true },
    })
    const shady = await member({ user: { tierId: gold.id }, profile: { shadowBannedAt: new Date() } })
    const bob = await member()
    const sh = await openConversation(shady.token, bob.id)
    const b = await openConversation(bob.token, shady.id)
    expect(await sendMessage(b, opener(), 'b-1')).toMatchObject({ type: 'ack', seq: 1 })
    await sh.next((f) => f.type === 'message')
    expect(await sendMessage(sh, 'are you there?', 'sh-1')).toMatchObject({ type: 'ack', seq: 2 })

    // Bob has seen only his own message 1: his marker stays there, so Shady hears nothing.
    b.send({ type: 'read' })
    expect(await b.next((f) => f.type === 'read-marker')).toEqual({ type: 'read-marker', seq: 1 })
    b.send({ type: 'read', seq: 2 })
    expect(await b.next((f) => f.type === 'read-marker')).toEqual({ type: 'read-marker', seq: 1 })
    expect((await sh.drain()).filter((f) => f.type === 'read')).toEqual([])
    expect(await inbox(bob.id, shady.id)).toMatchObject({ readSeq: 1, unreadCount: 0 })
    expect(await conversationStub(shady.id, bob.id).markRead(bob.id)).toEqual({ readSeq: 1 })
    sh.ws.close()
    b.ws.close()
  })

  it('echoes a shadow-banned member’s reaction to them only, without storing it', async () => {
    const { alice: shady, bob, a: sh, b } = await openPair({ profile: { shadowBannedAt: new Date() } })
    await sendMessage(b, opener(), 'b-1')
    sh.send({ type: 'react', seq: 1, emoji: '❤️' })
    expect(await sh.next((f) => f.type === 'reaction')).toEqual({
      type: 'reaction',
      seq: 1,
      emoji: '❤️',
      userId: shady.id,
    })
    expect((await b.drain()).filter((f) => f.type === 'reaction')).toEqual([])
    expect((await storedMessages(shady.id, bob.id))[0]).toMatchObject({ reaction: null, reactedAt: null })
    sh.send({ type: 'react', seq: 99, emoji: '❤️' })
    expect(await sh.next((f) => f.type === 'error')).toMatchObject({ code: 'not_found', seq: 99 })
    sh.ws.close()
    b.ws.close()
  })

  it('shows no presence of a shadow-banned member, nor across a skip', async () => {
    const shady = await member({ profile: { shadowBannedAt: new Date() } })
    const bob = await member()
    const sh = await openConversation(shady.token, bob.id)
    const b = await connect(`/api/v1/conversations/${shady.id}/socket`, bob.token)
    expect(await b.next((f) => f.type === 'hello')).toEqual({
      type: 'hello',
      userId: bob.id,
      connected: [bob.id],
    })
    // Bob is visible to Shady (she sees nothing odd); Shady's comings and goings are not.
    expect(await sh.next((f) => f.type === 'presence')).toEqual({
      type: 'presence',
      userId: bob.id,
      status: 'online',
    })
    const sh2 = await openConversation(shady.token, bob.id)
    sh.ws.close()
    sh2.ws.close()
    expect((await b.drain()).filter((f) => f.type === 'presence')).toEqual([])
    b.ws.close()

    const alice = await member()
    const carol = await member()
    await s.database.db.insert(skips).values({ subjectId: carol.id, objectId: alice.id })
    const a = await openConversation(alice.token, carol.id)
    const c = await connect(`/api/v1/conversations/${alice.id}/socket`, carol.token)
    expect((await c.next((f) => f.type === 'hello')).connected).toEqual([carol.id])
    c.ws.close()
    expect((await a.drain()).filter((f) => f.type === 'presence')).toEqual([])
    a.ws.close()
  })
})

describe('conversation socket: frames and sessions', () => {
  it('names the field of a malformed frame and rejects unknown frames', async () => {
    const alice = await member()
    const a = await openConversation(alice.token, (await member()).id)
    const cases: [object, string][] = [
      [{ type: 'send', body: 'x' }, 'clientId'],
      [{ type: 'send', clientId: 'x'.repeat(129), body: 'x' }, 'clientId'],
      [{ type: 'send', clientId: 'c', body: '' }, 'body'],
      [{ type: 'send', clientId: 'c', body: 5 }, 'body'],
      [{ type: 'resume' }, 'afterSeq'],
      [{ type: 'resume', afterSeq: -1 }, 'afterSeq'],
      [{ type: 'history', beforeSeq: 'x' }, 'beforeSeq'],
      [{ type: 'read', seq: 1.5 }, 'seq'],
      [{ type: 'react', seq: 0, emoji: '👍' }, 'seq'],
    ]
    for (const [frame, path] of cases) {
      a.send(frame)
      expect(await a.next((f) => f.type === 'error')).toMatchObject({ code: 'validation_failed', path })
    }
    a.send({ type: 'teleport' })
    expect(await a.next((f) => f.type === 'error')).toEqual({
      type: 'error',
      code: 'bad_request',
      frameType: 'teleport',
    })
    a.send('not json')
    expect(await a.next((f) => f.type === 'error')).toEqual({ type: 'error', code: 'malformed_body' })
    a.ws.close()
  })

  it("closes a revoked session's conversation sockets (4003) and leaves other sessions open", async () => {
    const alice = await member()
    const bob = await member()
    const a = await openConversation(alice.token, bob.id)
    const b = await openConversation(bob.token, alice.id)
    await a.drain(200) // let the object report the open conversation to Alice's hub
    const res = await call('POST', '/api/v1/auth/logout', alice.token)
    expect(res.status).toBe(204)
    expect(await a.closed).toMatchObject({ code: closeCodes.sessionRevoked })
    expect(await b.next((f) => f.type === 'presence')).toEqual({
      type: 'presence',
      userId: alice.id,
      status: 'recently-online',
    })
    expect(await sendMessage(b, opener(), 'still-open')).toMatchObject({ type: 'ack' })

    // The RPC itself, for one session: only that session's sockets close.
    const bob2 = await member()
    const first = await openConversation(bob2.token, bob.id)
    await conversationStub(bob2.id, bob.id).closeSessions(bob2.id, crypto.randomUUID(), 4003, 'other session')
    expect(await sendMessage(first, opener(), 'alive')).toMatchObject({ type: 'ack' })
    await conversationStub(bob2.id, bob.id).closeSessions(
      bob2.id,
      decodeJwt(bob2.token).sid as string,
      4003,
      'revoked',
    )
    expect(await first.closed).toMatchObject({ code: 4003 })
    b.ws.close()
  })

  it("keeps each socket's identity in its attachment, where it survives hibernation", async () => {
    const alice = await member()
    const bob = await member()
    const a = await openConversation(alice.token, bob.id)
    const identities = await runInDurableObject(conversationStub(alice.id, bob.id), (_o, state) =>
      state.getWebSockets(alice.id).map((ws) => ws.deserializeAttachment()),
    )
    const claims = decodeJwt(alice.token)
    expect(identities).toEqual([
      { userId: alice.id, sessionId: claims.sid, connectedAt: expect.any(Number), exp: claims.exp },
    ])
    a.ws.close()
  })

  it('closes a socket with 4001 when a frame arrives after its access token expired', async () => {
    const alice = await member()
    const bob = await member()
    const sid = decodeJwt(alice.token).sid as string
    const ttl = s.config.jwt.accessTtlSeconds
    // A token for Alice's live session that expires two seconds from now.
    const { token } = await signAccessToken(
      s.config.jwt,
      { userId: alice.id, sessionId: sid, role: 'member' },
      new Date(Date.now() - (ttl - 2) * 1000),
    )
    const a = await openConversation(token, bob.id)
    expect(await sendMessage(a, opener(), 'in-time')).toMatchObject({ type: 'ack' })
    await new Promise((resolve) => setTimeout(resolve, 2100))
    a.send({ type: 'send', clientId: 'too-late', body: 'hello?' })
    expect(await a.closed).toMatchObject({ code: closeCodes.tokenExpired })
    expect((await storedMessages(alice.id, bob.id)).map((m) => m.clientId)).toEqual(['in-time'])
  })
})
