import { and, eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { inboxEntries } from '../../../src/db/schema'
import { type Frame, type TestSocket, chatting, sendMessage, storedMessages } from '../chat-socket'
import { services } from '../helpers'

/**
 * Group commit in the Conversation object: replies that arrive while a write is in flight are
 * stored together by one statement, each acknowledged only after that statement committed.
 */

const s = services()

/** The ack or error for each client id, in the order given. */
const answers = (socket: TestSocket, ids: string[]) =>
  Promise.all(
    ids.map((id) => socket.next((f) => (f.type === 'ack' || f.type === 'error') && f.clientId === id)),
  )

describe('conversation: group commit', () => {
  it('stores a burst of replies from both members in batches: every one acked once, in order, stored once', async () => {
    const { alice, bob, a, b } = await chatting()
    const fromA = Array.from({ length: 15 }, (_, i) => `a-${i}`)
    const fromB = Array.from({ length: 15 }, (_, i) => `b-${i}`)
    for (let i = 0; i < 15; i++) {
      a.send({ type: 'send', clientId: fromA[i], body: `from alice ${i}` })
      b.send({ type: 'send', clientId: fromB[i], body: `from bob ${i}` })
    }
    const [acksA, acksB] = await Promise.all([answers(a, fromA), answers(b, fromB)])
    for (const f of [...acksA, ...acksB]) expect(f.type).toBe('ack')
    // Every message numbered once: together 3..32 without a gap. Not checked here: that each
    // member's are numbered in the order sent. The test runtime wraps every Durable Object and,
    // before each event, looks its class up by importing the Worker's module through another
    // object, which answers in no fixed order: one socket's frames can reach the object out of
    // order here. Under wrangler dev they cannot; test/chat-e2e.node.test.ts pins the order there.
    const seqsA = acksA.map((f) => f.seq as number)
    const seqsB = acksB.map((f) => f.seq as number)
    expect([...seqsA, ...seqsB].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 3))

    // Each peer got the other's messages once each, in sequence order, with the acked numbers.
    const delivered = async (socket: TestSocket, n: number) => {
      const got: Frame[] = []
      for (let i = 0; i < n; i++) got.push(await socket.next((f) => f.type === 'message'))
      return got.map((f) => f.message as { clientId: string; seq: number })
    }
    const [atB, atA] = await Promise.all([delivered(b, 15), delivered(a, 15)])
    const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! < x)
    expect(ascending(atB.map((m) => m.seq))).toBe(true)
    expect(ascending(atA.map((m) => m.seq))).toBe(true)
    const ackOf = new Map([...acksA, ...acksB].map((f) => [f.clientId as string, f.seq as number]))
    for (const m of [...atA, ...atB]) expect(m.seq).toBe(ackOf.get(m.clientId))
    expect(atB.map((m) => m.clientId).sort()).toEqual([...fromA].sort())
    expect(atA.map((m) => m.clientId).sort()).toEqual([...fromB].sort())
    expect(await b.drain(200)).toEqual([])

    const rows = await storedMessages(alice.id, bob.id)
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1))
    for (const f of [...acksA, ...acksB]) {
      const row = rows.find((r) => r.clientId === f.clientId)!
      expect(row.seq).toBe(f.seq)
      expect(row.createdAt.toISOString()).toBe(f.createdAt)
      expect(row.isIntro).toBe(false)
    }
    // Batched: messages of one batch share its commit time, so fewer times than messages.
    expect(new Set(rows.slice(2).map((r) => r.createdAt.getTime())).size).toBeLessThan(30)

    // The inbox entries end where the last message left them.
    const last = rows[rows.length - 1]!
    const [entry] = await s.database.db
      .select()
      .from(inboxEntries)
      .where(
        and(
          eq(inboxEntries.ownerId, last.senderId),
          eq(inboxEntries.peerId, last.senderId === alice.id ? bob.id : alice.id),
        ),
      )
    expect(entry).toMatchObject({ lastSeq: 32, unreadCount: 0, readSeq: 32, box: 'chats' })
    a.ws.close()
    b.ws.close()
  })

  it('answers a client id sent twice within one burst with one stored message and the same ack', async () => {
    const { alice, bob, a } = await chatting()
    for (const id of ['x-1', 'x-2', 'x-2', 'x-3']) a.send({ type: 'send', clientId: id, body: `body ${id}` })
    const acks: Frame[] = []
    for (let i = 0; i < 4; i++) acks.push(await a.next((f) => f.type === 'ack' || f.type === 'error'))
    expect(acks.map((f) => f.type)).toEqual(['ack', 'ack', 'ack', 'ack'])
    const byId = acks.filter((f) => f.clientId === 'x-2')
    expect(byId).toHaveLength(2)
    expect(byId[0]).toEqual(byId[1])
    const rows = await storedMessages(alice.id, bob.id)
    expect(rows.map((r) => r.clientId).slice(0, 2)).toEqual(['intro', 'reply'])
    expect(
      rows
        .map((r) => r.clientId)
        .slice(2)
        .sort(),
    ).toEqual(['x-1', 'x-2', 'x-3'])
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5])
    a.ws.close()
  })

  it('acknowledges none of a failed batch: each of its senders gets an error, nothing is stored, no number is lost', async () => {
    const { alice, bob, a, b } = await chatting()
    const poison = `poison ${crypto.randomUUID()}`
    const slow = `slow ${crypto.randomUUID()}`
    // A statement that fails for one message fails its whole batch (any error but a reused
    // client id, which is retried one by one). The slow message holds the write long enough for
    // the others to queue behind it, so they go out together, whatever order they arrive in.
    const fn = `test_refuse_${crypto.randomUUID().replaceAll('-', '')}`
    await s.database.db.execute(
      sql.raw(`create function ${fn}() returns trigger language plpgsql as $$
        begin
          if new.body = '${slow}' then perform pg_sleep(0.5); end if;
          if new.body = '${poison}' then raise exception 'refused by the test'; end if;
          return new;
        end $$`),
    )
    await s.database.db.execute(
      sql.raw(`create trigger ${fn} before insert on messages for each row execute function ${fn}()`),
    )
    try {
      a.send({ type: 'send', clientId: 'slow', body: slow })
      await new Promise((resolve) => setTimeout(resolve, 100))
      const ids = ['p-1', 'p-2', 'p-3', 'p-4', 'p-5']
      ids.forEach((id) => a.send({ type: 'send', clientId: id, body: id === 'p-3' ? poison : `fine ${id}` }))
      expect(await answers(a, ['slow'])).toMatchObject([{ type: 'ack', seq: 3 }])
      const got = await answers(a, ids)
      for (const [i, f] of got.entries()) {
        expect(f).toMatchObject({
          type: 'error',
          code: 'service_unavailable',
          clientId: ids[i],
          frameType: 'send',
        })
      }
      const rows = await storedMessages(alice.id, bob.id)
      expect(rows.map((r) => r.clientId)).toEqual(['intro', 'reply', 'slow'])
      // Bob received the acknowledged one only.
      const seen = (await b.drain(300))
        .filter((f) => f.type === 'message')
        .map((f) => (f.message as { clientId: string }).clientId)
      expect(seen).toEqual(['slow'])
    } finally {
      await s.database.db.execute(sql.raw(`drop trigger ${fn} on messages`))
      await s.database.db.execute(sql.raw(`drop function ${fn}()`))
    }
    // Gap-free afterwards: the failed batch took its numbers back.
    expect(await sendMessage(a, 'after the failure', 'after')).toMatchObject({ type: 'ack', seq: 4 })
    a.ws.close()
    b.ws.close()
  })
})
