import { expect } from 'vitest'
import { conversationName } from '../../src/services/chat/protocol'
import { env } from 'cloudflare:test'
import { and, eq } from 'drizzle-orm'
import { messages } from '../../src/db/schema'
import { pairOf } from '../../src/services/chat/history'
import { member } from './fixtures'
import { api, services } from './helpers'

/** Test helpers for the chat tests: sockets through the Worker, frames collected and awaited. */

export type Frame = { type: string; [k: string]: unknown }

export interface TestSocket {
  ws: WebSocket
  frames: Frame[]
  /** The first collected frame matching `predicate` (removed), waiting up to 3 s for it. */
  next(predicate?: (f: Frame) => boolean): Promise<Frame>
  /** Send a frame (objects as JSON). */
  send(frame: object | string): void
  /** Everything that arrives within `ms` (for asserting that something does NOT arrive). */
  drain(ms?: number): Promise<Frame[]>
  closed: Promise<{ code: number; reason: string }>
}

/** Open a socket through the Worker (bearer header) and collect its frames. */
export async function connect(path: string, token: string): Promise<TestSocket> {
  const res = await api(path, { headers: { Upgrade: 'websocket', Authorization: `Bearer ${token}` } })
  expect(res.status).toBe(101)
  const ws = res.webSocket!
  const frames: Frame[] = []
  const waiters: (() => void)[] = []
  let onClose!: (v: { code: number; reason: string }) => void
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClose = resolve))
  ws.addEventListener('message', (e) => {
    frames.push(JSON.parse(e.data as string))
    waiters.splice(0).forEach((w) => w())
  })
  ws.addEventListener('close', (e) => onClose({ code: e.code, reason: e.reason }))
  ws.accept()
  const next = async (predicate: (f: Frame) => boolean = () => true): Promise<Frame> => {
    for (;;) {
      const found = frames.findIndex(predicate)
      if (found >= 0) return frames.splice(found, 1)[0]!
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching frame; have ${JSON.stringify(frames)}`)),
          3000,
        )
        waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }
  const send = (frame: object | string) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  const drain = async (ms = 300) => {
    await new Promise((resolve) => setTimeout(resolve, ms))
    return frames.splice(0)
  }
  return { ws, frames, next, send, drain, closed }
}

/** A member's conversation socket with `peerId`, after its hello. */
export async function openConversation(token: string, peerId: string): Promise<TestSocket> {
  const socket = await connect(`/api/v1/conversations/${peerId}/socket`, token)
  await socket.next((f) => f.type === 'hello')
  return socket
}

/** Send a message frame and wait for its ack or error. */
export async function sendMessage(socket: TestSocket, body: string, clientId = crypto.randomUUID()) {
  socket.send({ type: 'send', clientId, body })
  return socket.next((f) => (f.type === 'ack' || f.type === 'error') && f.clientId === clientId)
}

/**
 * Two new members, each with a conversation socket open to the other; `alice` is made with
 * `aliceOptions` (e.g. a shadow ban).
 */
export async function openPair(aliceOptions: Parameters<typeof member>[0] = {}) {
  const alice = await member(aliceOptions)
  const bob = await member()
  const a = await openConversation(alice.token, bob.id)
  const b = await openConversation(bob.token, alice.id)
  return { alice, bob, a, b }
}

/** {@link openPair} after an intro and its reply, each delivered: what follows are replies. */
export async function chatting() {
  const pair = await openPair()
  expect(await sendMessage(pair.a, opener(), 'intro')).toMatchObject({ type: 'ack', seq: 1 })
  expect(await sendMessage(pair.b, 'hi', 'reply')).toMatchObject({ type: 'ack', seq: 2 })
  await pair.a.next((f) => f.type === 'message')
  await pair.b.next((f) => f.type === 'message')
  return pair
}

/** The Conversation object of a pair, for RPC calls and runInDurableObject. */
export const conversationStub = (a: string, b: string) => env.CONVERSATION.getByName(conversationName(a, b))

/** A unique opener (intros must be unique on the whole platform). */
export const opener = (text = 'Hello there') => `${text} ${crypto.randomUUID()}`

/** The sequence number of a `message` frame's message. */
export const seqOf = (frame: Frame) => (frame.message as { seq: number }).seq

/** Every stored message between two members, in sequence order. */
export async function storedMessages(x: string, y: string) {
  const { memberA, memberB } = pairOf(x, y)
  return services()
    .database.db.select()
    .from(messages)
    .where(and(eq(messages.memberA, memberA), eq(messages.memberB, memberB)))
    .orderBy(messages.seq)
}
