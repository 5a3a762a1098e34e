import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ChatSocket,
  type ChatStack,
  type Frame,
  type Member,
  createMembers,
  openConversation,
  openHub,
  startChatStack,
} from '../bench/chat'

/**
 * Chat end to end: `wrangler dev` (the real Worker, Conversation and UserHub Durable Objects)
 * over the real PostgreSQL and Redis, driven by `ws` clients the way an app would: two members,
 * a conversation socket and an inbox socket each. Redis: logical database 7 (TEST_CHAT_REDIS_URL),
 * flushed; PostgreSQL: a fresh database, dropped afterwards.
 */

let stack: ChatStack
let dir: string
let alice: Member
let bob: Member
const sockets: ChatSocket[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rapport-chat-e2e-'))
  stack = await startChatStack({
    redisUrl: process.env.TEST_CHAT_REDIS_URL ?? 'redis://127.0.0.1:6379/7',
    dataDir: dir,
  })
  ;[alice, bob] = (await createMembers(stack, 2)) as [Member, Member]
}, 90_000)

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close().catch(() => {})))
  await stack?.stop()
  rmSync(dir, { recursive: true, force: true })
}, 30_000)

const track = (s: ChatSocket) => (sockets.push(s), s)
const messageWith = (clientId: string) => (f: Frame) =>
  f.type === 'message' && (f.message as { clientId: string }).clientId === clientId

/** Send over a conversation socket and wait for the answer to that clientId. */
async function send(socket: ChatSocket, body: string, clientId: string = randomUUID()) {
  socket.send({ type: 'send', clientId, body })
  return socket.next((f) => (f.type === 'ack' || f.type === 'error') && f.clientId === clientId)
}

describe('chat over wrangler dev with ws clients', () => {
  let aliceConv: ChatSocket
  let bobConv: ChatSocket
  let aliceHub: ChatSocket
  let bobHub: ChatSocket

  it('opens conversation and inbox sockets for both members', async () => {
    aliceConv = track(await openConversation(stack.url, alice, bob.id))
    bobConv = track(await openConversation(stack.url, bob, alice.id))
    aliceHub = track(await openHub(stack.url, alice))
    bobHub = track(await openHub(stack.url, bob))
    // Alice was already there when Bob connected: she hears he came online.
    expect(await aliceConv.next((f) => f.type === 'presence')).toMatchObject({
      userId: bob.id,
      status: 'online',
    })
  })

  it('acks a send both ways and delivers it to the peer and to the peer inbox socket', async () => {
    const intro = `Hello Bob, ${randomUUID()}`
    const introId = randomUUID()
    const ack = await send(aliceConv, intro, introId)
    expect(ack).toMatchObject({ type: 'ack', clientId: introId, seq: 1 })
    const delivered = await bobConv.next(messageWith(introId))
    expect(delivered.message).toMatchObject({ seq: 1, clientId: introId, senderId: alice.id, body: intro })
    expect(await bobHub.next((f) => f.type === 'message')).toMatchObject({
      peerId: alice.id,
      box: 'intros',
      unread: 1,
      message: { seq: 1, clientId: introId, body: intro },
    })

    const replyId = randomUUID()
    expect(await send(bobConv, 'Hi Alice!', replyId)).toMatchObject({
      type: 'ack',
      clientId: replyId,
      seq: 2,
    })
    expect((await aliceConv.next(messageWith(replyId))).message).toMatchObject({
      seq: 2,
      senderId: bob.id,
      body: 'Hi Alice!',
    })
    expect(await aliceHub.next((f) => f.type === 'message')).toMatchObject({
      peerId: bob.id,
      box: 'chats',
      unread: 1,
      message: { seq: 2, clientId: replyId },
    })
    // The sender's own socket gets the ack, not an echo of its message.
    expect((await aliceConv.drain(200)).filter((f) => f.type === 'message')).toEqual([])
  })

  it('answers a resend with the same clientId with the same ack and stores one message', async () => {
    const clientId = randomUUID()
    const first = await send(aliceConv, 'Only once', clientId)
    expect(first).toMatchObject({ type: 'ack', seq: 3 })
    const again = await send(aliceConv, 'Only once', clientId)
    expect(again).toEqual(first)
    await bobConv.next(messageWith(clientId))
    const late = await bobConv.drain(400)
    expect(late.filter(messageWith(clientId))).toEqual([])
    const { rows } = await stack.pool.query('select seq::int from messages where client_id = $1', [clientId])
    expect(rows).toEqual([{ seq: 3 }])
  })

  it('refuses a malformed send without storing anything', async () => {
    aliceConv.send({ type: 'send', clientId: 'bad-1', body: '' })
    expect(await aliceConv.next((f) => f.type === 'error')).toMatchObject({
      code: 'validation_failed',
      clientId: 'bad-1',
      path: 'body',
    })
  })

  it('resumes a reconnecting member with what they missed, in order', async () => {
    await bobConv.close()
    expect(await aliceConv.next((f) => f.type === 'presence')).toMatchObject({
      userId: bob.id,
      status: 'recently-online',
    })
    const missed: string[] = []
    for (let i = 0; i < 3; i++) {
      const body = `While you were away ${i}`
      expect(await send(aliceConv, body)).toMatchObject({ type: 'ack', seq: 4 + i })
      missed.push(body)
    }
    bobConv = track(await openConversation(stack.url, bob, alice.id))
    bobConv.send({ type: 'resume', afterSeq: 3 })
    const resumed = await bobConv.next((f) => f.type === 'resumed')
    expect(resumed).toMatchObject({ lastSeq: 6, complete: true })
    const replayed = bobConv.frames.splice(0).filter((f) => f.type === 'message')
    expect(replayed.map((f) => f.message)).toMatchObject(
      missed.map((body, i) => ({ seq: 4 + i, senderId: alice.id, body })),
    )
  })

  it('agrees with the REST history page', async () => {
    const res = await fetch(`${stack.url}/api/v1/conversations/${alice.id}/messages`, {
      headers: { Authorization: `Bearer ${bob.token}` },
    })
    expect(res.status).toBe(200)
    const page = (await res.json()) as {
      data: { seq: number; senderId: string; body: string }[]
      has_more: boolean
    }
    expect(page.has_more).toBe(false)
    expect(page.data.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6])
    expect(page.data.map((m) => m.senderId)).toEqual([
      alice.id,
      bob.id,
      alice.id,
      alice.id,
      alice.id,
      alice.id,
    ])
    expect(page.data.slice(2).map((m) => m.body)).toEqual([
      'Only once',
      'While you were away 0',
      'While you were away 1',
      'While you were away 2',
    ])
    const { rows } = await stack.pool.query(
      'select count(*)::int as n from messages where member_a = least($1::uuid, $2::uuid)',
      [alice.id, bob.id],
    )
    expect(rows[0]).toEqual({ n: 6 })
  })

  it('numbers a burst from one socket in the order it was sent and delivers it in that order', async () => {
    // Sent without waiting, so replies queue behind the write in flight and go out in batches.
    const ids = Array.from({ length: 30 }, (_, i) => `burst-${i}-${randomUUID()}`)
    for (const [i, clientId] of ids.entries()) aliceConv.send({ type: 'send', clientId, body: `burst ${i}` })
    const acks = await Promise.all(
      ids.map((id) => aliceConv.next((f) => (f.type === 'ack' || f.type === 'error') && f.clientId === id)),
    )
    expect(acks.map((f) => [f.type, f.seq])).toEqual(ids.map((_, i) => ['ack', 7 + i]))
    const seen: string[] = []
    for (let i = 0; i < ids.length; i++) {
      seen.push(((await bobConv.next((f) => f.type === 'message')).message as { clientId: string }).clientId)
    }
    expect(seen).toEqual(ids)
    const { rows } = await stack.pool.query<{ client_id: string }>(
      'select client_id from messages where member_a = least($1::uuid, $2::uuid) and seq > 6 order by seq',
      [alice.id, bob.id],
    )
    expect(rows.map((r) => r.client_id)).toEqual(ids)
  })
})
