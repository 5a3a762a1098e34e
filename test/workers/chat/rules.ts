import { runInDurableObject } from 'cloudflare:test'
import { and, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { inboxEntries, messaged, skips } from '../../../src/db/schema'
import {
  dailyIntroLimit,
  introHash,
  introLimitSubreason,
  isReactionEmoji,
  SendThrottle,
} from '../../../src/services/chat/rules'
import { loadPairFacts, writeMessage } from '../../../src/services/chat/send'
import {
  chatting,
  connect,
  conversationStub,
  openConversation,
  openPair,
  opener,
  sendMessage,
  storedMessages,
} from '../chat-socket'
import { account, call, insertUsers, member } from '../fixtures'
import { problem, services } from '../helpers'
import { eventually } from '../push-helpers'

const s = services()
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000)

const post = (token: string | undefined, peerId: string, body: unknown) =>
  call('POST', `/api/v1/conversations/${peerId}/messages`, token, body)

/** Send through the REST route with a fresh client id. */
const rest = (from: { token: string }, to: { id: string }, body: string) =>
  post(from.token, to.id, { clientId: crypto.randomUUID(), body })

/** `sender` has written first to `n` other (bare) accounts, an hour ago. */
async function introsToday(senderId: string, n: number) {
  const targets = await insertUsers(
    Array.from({ length: n }, () => {
      const t = crypto.randomUUID()
      return { email: `t-${t}@example.org`, emailDisplay: `t-${t}@example.org` }
    }),
  )
  await s.database.db
    .insert(messaged)
    .values(targets.map((t) => ({ subjectId: senderId, objectId: t.id, createdAt: hoursAgo(1) })))
}

async function reportedBy(role: 'member' | 'bot', accusedId: string) {
  const reporter = await account(role)
  await s.database.db
    .insert(skips)
    .values({ subjectId: reporter.id, objectId: accusedId, reported: true, reportReason: 'rude' })
}

describe('chat rules: the pure parts', () => {
  it('normalises intros, counts limits and recognises one emoji', async () => {
    expect(await introHash('Heyyy THERE!! 👋')).toBe(await introHash('hey there'))
    expect(await introHash('hey there')).not.toBe(await introHash('hey their'))
    expect([0, 1, 2, 5].map((n) => dailyIntroLimit('none', n))).toEqual([15, 7, 3, 0])
    expect(dailyIntroLimit('photos', 1)).toBe(30)
    expect(['none', 'basics', 'photos'].map((l) => introLimitSubreason(l as 'none'))).toEqual([
      'verify-basics',
      'verify-photos',
      'wait',
    ])
    for (const ok of ['', '👍', '👍🏽', '❤️', '👨‍👩‍👧‍👦', '🇦🇺', '1️⃣']) expect(isReactionEmoji(ok), ok).toBe(true)
    for (const bad of ['a', '👍👍', ':)', ' 👍', '❤️x']) expect(isReactionEmoji(bad), bad).toBe(false)
  })
})

describe('chat rules: the flood limit', () => {
  it('lets a burst through, then one message per refill interval, per sender', () => {
    const throttle = new SendThrottle(3, 2)
    const t0 = 1_000_000
    expect([1, 2, 3].map(() => throttle.take('a', t0))).toEqual([0, 0, 0])
    expect(throttle.take('a', t0)).toBe(500)
    expect(throttle.take('b', t0)).toBe(0)
    expect(throttle.take('a', t0 + 500)).toBe(0)
    expect(throttle.take('a', t0 + 500)).toBe(500)
    expect(throttle.take('a', t0 + 10_000)).toBe(0)
  })

  it('refuses a flood of sends with 429 slow-down and Retry-After, storing none of the refused', async () => {
    const alice = await member()
    const bob = await member()
    expect((await rest(alice, bob, opener())).status).toBe(201)
    expect((await rest(bob, alice, opener())).status).toBe(201)
    const results = await Promise.all(
      Array.from({ length: 130 }, (_, i) => rest(alice, bob, `message ${i} ${crypto.randomUUID()}`)),
    )
    const refused = results.filter((r) => r.status === 429)
    // 99 tokens were left after the opener; the burst arrives over a second or so of refill.
    expect(refused.length).toBeGreaterThanOrEqual(5)
    for (const r of refused) {
      expect(await problem(r)).toMatchObject({ code: 'rate_limited', subreason: 'slow-down' })
    }
    expect(Number(refused[0]!.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1)
    const stored = (await storedMessages(alice.id, bob.id)).filter((m) => m.senderId === alice.id)
    expect(stored).toHaveLength(1 + results.filter((r) => r.status === 201).length)
  })
})

describe('chat rules: who may write', () => {
  it('blocks a pair with a skip in either direction, for messages, typing and reactions', async () => {
    for (const direction of ['sender skipped', 'recipient skipped'] as const) {
      const alice = await member()
      const bob = await member()
      const [subjectId, objectId] = direction === 'sender skipped' ? [alice.id, bob.id] : [bob.id, alice.id]
      await s.database.db.insert(skips).values({ subjectId, objectId })
      const a = await openConversation(alice.token, bob.id)
      expect(await sendMessage(a, opener(), 'c')).toMatchObject({
        type: 'error',
        code: 'blocked',
        clientId: 'c',
      })
      const res = await rest(alice, bob, opener())
      expect(res.status).toBe(403)
      expect((await problem(res)).code).toBe('blocked')
      expect(await storedMessages(alice.id, bob.id)).toEqual([])
      a.ws.close()
    }
  })

  it('blocks a pair that skipped after chatting, once the object sees the skip', async () => {
    const { alice, bob, a, b } = await openPair()
    await sendMessage(a, opener(), 'before')
    await b.next((f) => f.type === 'message')
    await s.database.db.insert(skips).values({ subjectId: bob.id, objectId: alice.id })
    await conversationStub(alice.id, bob.id).forgetFacts()
    expect(await sendMessage(a, 'still there?', 'after')).toMatchObject({ code: 'blocked' })
    a.send({ type: 'typing' })
    b.send({ type: 'react', seq: 1, emoji: '👍' })
    expect(await b.next((f) => f.type === 'error')).toMatchObject({ code: 'blocked', seq: 1 })
    expect((await b.drain()).filter((f) => f.type === 'typing' || f.type === 'message')).toEqual([])
    // The message stored before the skip keeps its acknowledgement on a resend.
    expect(await sendMessage(a, 'ignored', 'before')).toMatchObject({ type: 'ack', seq: 1 })
    a.ws.close()
    b.ws.close()
  })

  describe('pair facts refreshed ahead of expiry', () => {
    /** The Conversation's facts in memory, and a way to make them young but due for a refresh. */
    const factsOf = (alice: { id: string }, bob: { id: string }) => ({
      read: () =>
        runInDurableObject(conversationStub(alice.id, bob.id), (o) => {
          const facts = (o as any).facts as { value: { skipped: boolean; members: Map<string, any> } } | null
          return facts && { skipped: facts.value.skipped, alice: { ...facts.value.members.get(alice.id) } }
        }),
      refreshDue: () =>
        runInDurableObject(conversationStub(alice.id, bob.id), (o) => {
          const facts = (o as any).facts as { at: number; refreshAt: number }
          facts.at = Date.now()
          facts.refreshAt = 0
        }),
    })

    it('answers a frame from memory and loads in the background, so a change it was not told of shows well before expiry', async () => {
      const { alice, bob, a, b } = await chatting()
      // A skip the object is not told of: it keeps its facts until they are due again.
      await s.database.db.insert(skips).values({ subjectId: bob.id, objectId: alice.id })
      const facts = factsOf(alice, bob)
      await facts.refreshDue()
      // This frame is decided on the facts in memory (no skip) without waiting for the load it starts…
      expect(await sendMessage(a, 'one more', 'during')).toMatchObject({ type: 'ack', seq: 3 })
      // …which brings the skip in, long before the facts would have expired.
      await eventually(facts.read, (f) => f?.skipped === true, 3_000)
      expect(await sendMessage(a, 'still there?', 'after')).toMatchObject({ code: 'blocked' })
      a.ws.close()
      b.ws.close()
    })

    it('keeps a first message written while a refresh was under way: the next one is not an intro again', async () => {
      const { alice, bob, a, b } = await openPair()
      const facts = factsOf(alice, bob)
      // Bob's first message starts a refresh that reads the rows before the message is written.
      await facts.refreshDue()
      expect(await sendMessage(b, opener(), 'bob-intro')).toMatchObject({ type: 'ack', seq: 1 })
      await facts.refreshDue()
      expect(await sendMessage(a, opener(), 'alice-first')).toMatchObject({ type: 'ack', seq: 2 })
      await eventually(
        facts.read,
        (f) => f?.alice.messaged === true && f.alice.messagedVisibly === true,
        3_000,
      )
      expect(await sendMessage(a, 'and a reply', 'alice-second')).toMatchObject({ type: 'ack', seq: 3 })
      const stored = await storedMessages(alice.id, bob.id)
      expect(stored.map((m) => [m.clientId, m.isIntro])).toEqual([
        ['bob-intro', true],
        ['alice-first', false],
        ['alice-second', false],
      ])
      a.ws.close()
      b.ws.close()
    })
  })

  describe('a message after a pause (the pair facts expired)', () => {
    /**
     * Expire the Conversation's facts, as a pause of 5 s or more does, and count the database
     * statements the object runs from then on (its own services, wrapped; the reads and writes of
     * the chat path all go through `execute`).
     */
    const paused = async (
      alice: { id: string },
      bob: { id: string },
      opts: { holdFirstMs?: number } = {},
    ) => {
      const stub = conversationStub(alice.id, bob.id)
      await runInDurableObject(stub, (o) => {
        const object = o as any
        const real = object.s as ReturnType<typeof services>
        const db = real.database.db
        object.statements = 0
        object.holding = false
        const counted = new Proxy(db, {
          get: (target, name) => {
            const value = Reflect.get(target, name, target) as unknown
            if (name !== 'execute' || typeof value !== 'function') return value
            return (...args: unknown[]) => {
              const run = () => (value as (...a: unknown[]) => unknown).apply(target, args)
              if (++object.statements > 1 || !opts.holdFirstMs) return run()
              // The first statement waits before it goes out, so the test can act while it is under way.
              object.holding = true
              return new Promise((r) => setTimeout(r, opts.holdFirstMs)).then(() => {
                object.holding = false
                return run()
              })
            }
          },
        })
        object.services = { ...real, database: { ...real.database, db: counted } }
        object.facts.at = 0
      })
      return {
        statements: () => runInDurableObject(stub, (o) => (o as any).statements as number),
        factsAge: () => runInDurableObject(stub, (o) => Date.now() - ((o as any).facts?.at ?? 0)),
        holding: () => runInDurableObject(stub, (o) => (o as any).holding as boolean),
      }
    }

    it('writes a reply in the statement that reloads the facts: one round trip, delivered and stored once', async () => {
      const { alice, bob, a, b } = await chatting()
      const pause = await paused(alice, bob, { holdFirstMs: 1_000 })
      const sent = sendMessage(a, 'so, about that film', 'after-pause')
      // A typing hint while that statement is under way needs the facts too: it waits for the
      // ones the statement brings rather than loading them again.
      await eventually(pause.holding, (holding) => holding, 5_000)
      a.send({ type: 'typing' })
      expect(await sent).toMatchObject({ type: 'ack', seq: 3 })
      expect(await b.next((f) => f.type === 'message')).toMatchObject({
        message: { seq: 3, body: 'so, about that film' },
      })
      expect(await b.next((f) => f.type === 'typing')).toMatchObject({ userId: alice.id })
      expect(await pause.statements()).toBe(1)
      expect(await pause.factsAge()).toBeLessThan(5_000)
      // The facts it brought serve the next message from memory: no statement but its write.
      expect(await sendMessage(b, 'the ending!', 'next')).toMatchObject({ type: 'ack', seq: 4 })
      expect(await pause.statements()).toBe(2)
      expect((await storedMessages(alice.id, bob.id)).map((m) => [m.clientId, m.isIntro])).toEqual([
        ['intro', true],
        ['reply', false],
        ['after-pause', false],
        ['next', false],
      ])
      a.ws.close()
      b.ws.close()
    })

    it('writes nothing when the facts it loads refuse the message: a skip the object was not told of', async () => {
      const { alice, bob, a, b } = await chatting()
      await s.database.db.insert(skips).values({ subjectId: bob.id, objectId: alice.id })
      await paused(alice, bob)
      expect(await sendMessage(a, 'still there?', 'after-skip')).toMatchObject({ code: 'blocked' })
      expect((await storedMessages(alice.id, bob.id)).map((m) => m.clientId)).toEqual(['intro', 'reply'])
      a.ws.close()
      b.ws.close()
    })

    it('leaves a first message to the intro rules, on the facts it loaded', async () => {
      const { alice, bob, a, b } = await openPair()
      expect(await sendMessage(a, opener(), 'intro')).toMatchObject({ type: 'ack', seq: 1 })
      const pause = await paused(alice, bob)
      // Bob has not written yet: his message is his first to Alice, with its `messaged` row.
      expect(await sendMessage(b, 'hi!', 'first')).toMatchObject({ type: 'ack', seq: 2 })
      expect(await pause.statements()).toBe(2)
      const [first] = await s.database.db
        .select()
        .from(messaged)
        .where(and(eq(messaged.subjectId, bob.id), eq(messaged.objectId, alice.id)))
      expect(first).toBeDefined()
      a.ws.close()
      b.ws.close()
    })

    it('hides a shadow-banned member’s reply, and answers a reused client id with its first ack', async () => {
      const { alice: shady, bob, a: sh, b } = await openPair({ profile: { shadowBannedAt: new Date() } })
      expect(await sendMessage(sh, opener(), 'hidden-intro')).toMatchObject({ type: 'ack', seq: 1 })
      expect(await sendMessage(b, opener(), 'bob-intro')).toMatchObject({ type: 'ack', seq: 2 })
      await paused(shady, bob)
      expect(await sendMessage(sh, 'and another', 'hidden-reply')).toMatchObject({ type: 'ack', seq: 3 })
      const stored = await storedMessages(shady.id, bob.id)
      expect(stored.find((m) => m.clientId === 'hidden-reply')).toMatchObject({ hiddenFromRecipient: true })
      expect((await b.drain()).filter((f) => f.type === 'message')).toEqual([])

      // The object forgets its acks (as after an eviction); the same client id again after a pause.
      await runInDurableObject(conversationStub(shady.id, bob.id), (o) => (o as any).acks.clear())
      await paused(shady, bob)
      expect(await sendMessage(sh, 'and another', 'hidden-reply')).toMatchObject({ type: 'ack', seq: 3 })
      expect(await storedMessages(shady.id, bob.id)).toHaveLength(3)
      sh.ws.close()
      b.ws.close()
    })
  })

  it('blocks writing to a deactivated, deleted or not yet onboarded member', async () => {
    const alice = await member()
    const gone = [
      await member({ user: { status: 'deactivated', deactivatedAt: new Date() } }),
      await member({ user: { deletedAt: new Date() } }),
      await account('member', { status: 'onboarding' }),
    ]
    for (const peer of gone) {
      const res = await rest(alice, peer, opener())
      expect(res.status).toBe(403)
      expect((await problem(res)).code).toBe('blocked')
    }
  })

  it('asks a member moderation flagged to verify before chatting', async () => {
    const flagged = await member({ profile: { verificationRequired: true } })
    const bob = await member()
    const a = await openConversation(flagged.token, bob.id)
    expect(await sendMessage(a, opener(), 'v')).toMatchObject({ code: 'verification_required' })
    const res = await rest(flagged, bob, opener())
    expect(res.status).toBe(403)
    expect((await problem(res)).code).toBe('verification_required')
    // Verified since: the flag no longer blocks.
    const verified = await member({ profile: { verificationRequired: true, verificationLevel: 'basics' } })
    expect((await rest(verified, bob, opener())).status).toBe(201)
    a.ws.close()
  })

  it('stores a shadow-banned member’s messages for them only, acknowledging as usual', async () => {
    const { alice: shady, bob, a: sh, b } = await openPair({ profile: { shadowBannedAt: new Date() } })
    const bobHub = await connect('/api/v1/hub/socket', bob.token)
    const ack = await sendMessage(sh, opener(), 'hidden')
    expect(ack).toMatchObject({ type: 'ack', seq: 1 })
    expect((await storedMessages(shady.id, bob.id))[0]).toMatchObject({
      hiddenFromRecipient: true,
      senderId: shady.id,
    })
    expect((await b.drain()).filter((f) => f.type === 'message')).toEqual([])
    expect((await bobHub.drain(0)).filter((f) => f.type === 'message')).toEqual([])
    const [bobsEntry] = await s.database.db
      .select()
      .from(inboxEntries)
      .where(and(eq(inboxEntries.ownerId, bob.id), eq(inboxEntries.peerId, shady.id)))
    expect(bobsEntry).toBeUndefined()
    b.send({ type: 'resume', afterSeq: 0 })
    expect(await b.next()).toEqual({ type: 'resumed', lastSeq: 0, complete: true })
    sh.send({ type: 'resume', afterSeq: 0 })
    expect((await sh.next((f) => f.type === 'message')).message).toMatchObject({ seq: 1, clientId: 'hidden' })
    for (const x of [sh, b, bobHub]) x.ws.close()
  })
})

describe('chat rules: a shadow-banned member’s hidden messages', () => {
  it('leave the other member’s first message an intro, under the intro rules', async () => {
    const shady = await member({ profile: { shadowBannedAt: new Date() } })
    const bob = await member()
    const carol = await member()
    const sh = await openConversation(shady.token, bob.id)
    expect(await sendMessage(sh, opener(), 'hidden')).toMatchObject({ type: 'ack' })
    sh.ws.close()

    // An opener Bob already used elsewhere: to Shady, whose message he never saw, it is not unique.
    const line = opener('Fancy a coffee')
    const toCarol = await openConversation(bob.token, carol.id)
    expect(await sendMessage(toCarol, line, 'b-carol')).toMatchObject({ type: 'ack' })
    toCarol.ws.close()
    const b = await openConversation(bob.token, shady.id)
    expect(await sendMessage(b, line, 'b-shady')).toMatchObject({ type: 'error', code: 'not_unique' })
    expect(await sendMessage(b, opener(), 'b-ok')).toMatchObject({ type: 'ack', seq: 2 })
    expect((await storedMessages(bob.id, shady.id)).find((m) => m.clientId === 'b-ok')).toMatchObject({
      isIntro: true,
    })
    b.ws.close()
  })
})

describe('chat rules: the pair facts a conversation decides on', () => {
  const write = (senderId: string, recipientId: string, hidden: boolean) =>
    writeMessage(services(), {
      senderId,
      recipientId,
      clientId: crypto.randomUUID(),
      body: opener(),
      isIntro: false,
      hidden,
    })

  it('tell who has written, and whether any of it was seen, whichever order the pair is given in', async () => {
    const [ann, ben] = [await member(), await member()]
    const silent = await loadPairFacts(services(), ann.id, ben.id)
    expect(silent.members.get(ann.id)).toMatchObject({ live: true, messaged: false, messagedVisibly: false })
    expect(silent.skipped).toBe(false)

    await write(ann.id, ben.id, true)
    await write(ann.id, ben.id, true)
    const hiddenOnly = await loadPairFacts(services(), ben.id, ann.id)
    expect(hiddenOnly.members.get(ann.id)).toMatchObject({ messaged: true, messagedVisibly: false })
    expect(hiddenOnly.members.get(ben.id)).toMatchObject({ messaged: false, messagedVisibly: false })

    // A visible message after hidden ones (a ban lifted): seen, from either side.
    await write(ann.id, ben.id, false)
    await write(ben.id, ann.id, false)
    for (const [x, y] of [
      [ann.id, ben.id],
      [ben.id, ann.id],
    ] as const) {
      const facts = await loadPairFacts(services(), x, y)
      expect(facts.members.get(ann.id)).toMatchObject({ messaged: true, messagedVisibly: true })
      expect(facts.members.get(ben.id)).toMatchObject({ messaged: true, messagedVisibly: true })
    }

    await services().database.db.insert(skips).values({ subjectId: ben.id, objectId: ann.id })
    expect((await loadPairFacts(services(), ann.id, ben.id)).skipped).toBe(true)
  })

  it('answer for a member who is gone with no row for them', async () => {
    const ann = await member()
    const facts = await loadPairFacts(services(), ann.id, crypto.randomUUID())
    expect([...facts.members.keys()]).toEqual([ann.id])
  })
})

describe('chat rules: what may be sent', () => {
  it('refuses more than 5,000 characters (counted as code points)', async () => {
    const alice = await member()
    const bob = await member()
    const a = await openConversation(alice.token, bob.id)
    const unique = opener()
    expect(await sendMessage(a, unique.padEnd(5001, 'ab'), 'long')).toMatchObject({
      code: 'message_too_long',
    })
    const res = await rest(alice, bob, unique.padEnd(5001, 'ab'))
    expect(res.status).toBe(422)
    expect(await problem(res)).toMatchObject({ code: 'message_too_long', errors: [{ path: 'json.body' }] })
    expect(await sendMessage(a, unique.padEnd(5000, 'ab'), 'max')).toMatchObject({ type: 'ack' })
    // 5,000 emoji are 10,000 UTF-16 units but 5,000 characters.
    expect(await sendMessage(a, '😀'.repeat(5000), 'emoji')).toMatchObject({ type: 'ack' })
    a.ws.close()
  })

  it('refuses links in intros from young accounts (1 day / level²), not in replies or from older accounts', async () => {
    const link = () => `${opener('find me at')} janedoe.xyz`
    const bob = await member()
    const fresh = await member()
    const res = await rest(fresh, bob, link())
    expect(res.status).toBe(403)
    expect((await problem(res)).code).toBe('spam')
    const a = await openConversation(fresh.token, bob.id)
    expect(await sendMessage(a, `${opener()} https://example.com/x`, 's')).toMatchObject({ code: 'spam' })

    const basics5h = await member({
      user: { createdAt: hoursAgo(5) },
      profile: { verificationLevel: 'basics' },
    })
    expect((await rest(basics5h, bob, link())).status).toBe(403)
    const basics7h = await member({
      user: { createdAt: hoursAgo(7) },
      profile: { verificationLevel: 'basics' },
    })
    expect((await rest(basics7h, bob, link())).status).toBe(201)
    const photos3h = await member({
      user: { createdAt: hoursAgo(3) },
      profile: { verificationLevel: 'photos' },
    })
    expect((await rest(photos3h, bob, link())).status).toBe(201)
    const old = await member({ user: { createdAt: hoursAgo(25) } })
    expect((await rest(old, bob, link())).status).toBe(201)

    // Once Bob has written, the fresh account's links are ordinary messages.
    expect((await rest(bob, fresh, opener())).status).toBe(201)
    expect((await rest(fresh, bob, 'see janedoe.xyz')).status).toBe(201)
    a.ws.close()
  })

  it('refuses an opener anyone has used before, however it is cased, spaced or stretched', async () => {
    const text = opener('Hey there friend')
    const pairs = await Promise.all(Array.from({ length: 3 }, async () => [await member(), await member()]))
    expect((await rest(pairs[0]![0]!, pairs[0]![1]!, text)).status).toBe(201)
    const again = await rest(pairs[1]![0]!, pairs[1]![1]!, text)
    expect(again.status).toBe(409)
    expect(await problem(again)).toMatchObject({ code: 'not_unique', usedCount: 1 })
    const stretched = text.toUpperCase().replace('HEY', 'HEYYYY!!!').replace('FRIEND', 'frieeend  ')
    const a = await openConversation(pairs[2]![0]!.token, pairs[2]![1]!.id)
    expect(await sendMessage(a, stretched, 'n')).toMatchObject({ code: 'not_unique', usedCount: 2 })
    expect(await storedMessages(pairs[2]![0]!.id, pairs[2]![1]!.id)).toEqual([])
    // Not an intro any more (the other member has written): the same words are fine.
    expect((await rest(pairs[1]![1]!, pairs[1]![0]!, opener())).status).toBe(201)
    expect((await rest(pairs[1]![0]!, pairs[1]![1]!, text)).status).toBe(201)
    a.ws.close()
  })
})

describe('chat rules: the daily intro limit', () => {
  it('stops a member at 15 new people a day unverified, telling them to verify', async () => {
    const alice = await member()
    await introsToday(alice.id, 15)
    const bob = await member()
    const res = await rest(alice, bob, opener())
    expect(res.status).toBe(429)
    expect(await problem(res)).toMatchObject({ code: 'rate_limited', subreason: 'verify-basics' })
    const retryAfter = Number(res.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(22 * 3600)
    expect(retryAfter).toBeLessThanOrEqual(23 * 3600 + 5)
    const a = await openConversation(alice.token, bob.id)
    expect(await sendMessage(a, opener(), 'rl')).toMatchObject({
      code: 'rate_limited',
      subreason: 'verify-basics',
    })

    // Someone who wrote to Alice first is no intro; someone she already wrote to is no new person.
    const carol = await member()
    expect((await rest(carol, alice, opener())).status).toBe(201)
    expect((await rest(alice, carol, opener())).status).toBe(201)
    a.ws.close()
  })

  it('takes a peer id in upper case as the same member, over REST and on the socket', async () => {
    const alice = await member()
    const bob = await member()
    const upper = bob.id.toUpperCase()
    const a = await openConversation(alice.token, upper)
    const res = await post(alice.token, upper, { clientId: 'up-1', body: opener() })
    expect(res.status).toBe(201)
    expect((await a.next((f) => f.type === 'message')).message).toMatchObject({ clientId: 'up-1', seq: 1 })
    expect(await sendMessage(a, 'and again', 'up-2')).toMatchObject({ type: 'ack', seq: 2 })
    expect((await storedMessages(alice.id, bob.id)).map((m) => m.clientId).sort()).toEqual(['up-1', 'up-2'])
    const page = await call('GET', `/api/v1/conversations/${upper}/messages`, alice.token)
    expect(((await page.json()) as { data: unknown[] }).data).toHaveLength(2)
    expect(
      (await call('POST', `/api/v1/conversations/${alice.id.toUpperCase()}/read`, bob.token)).status,
    ).toBe(200)
    a.ws.close()
  })

  it('raises the limit with verification (30 basics, 60 photos) and halves it per report this week', async () => {
    const basics = await member({ profile: { verificationLevel: 'basics' } })
    await introsToday(basics.id, 15)
    expect((await rest(basics, await member(), opener())).status).toBe(201)

    // A report by a bot does not count; a member's report halves 30 to 15, which is reached.
    const reported = await member({ profile: { verificationLevel: 'basics' } })
    await introsToday(reported.id, 15)
    await reportedBy('bot', reported.id)
    expect((await rest(reported, await member(), opener())).status).toBe(201)
    await reportedBy('member', reported.id)
    const res = await rest(reported, await member(), opener())
    expect(res.status).toBe(429)
    expect((await problem(res)) as unknown).toMatchObject({ subreason: 'verify-photos' })

    const top = await member({ profile: { verificationLevel: 'photos' } })
    await introsToday(top.id, 60)
    const full = await rest(top, await member(), opener())
    expect(full.status).toBe(429)
    expect((await problem(full)) as unknown).toMatchObject({ subreason: 'wait' })
  })
})

describe('POST /api/v1/conversations/{peerId}/messages', () => {
  it('sends, delivers to sockets and answers 201 with the ack', async () => {
    const alice = await member()
    const bob = await member()
    const b = await openConversation(bob.token, alice.id)
    const body = opener()
    const res = await post(alice.token, bob.id, { clientId: 'rest-1', body })
    expect(res.status).toBe(201)
    const ack = (await res.json()) as { seq: number; createdAt: string; clientId: string }
    expect(ack).toMatchObject({ clientId: 'rest-1', seq: 1 })
    expect((await b.next((f) => f.type === 'message')).message).toMatchObject({
      seq: 1,
      body,
      senderId: alice.id,
    })
    b.ws.close()
  })

  it('answers 401, 404, 409 and 422 for what it cannot send', async () => {
    const alice = await member()
    const bob = await member()
    const ok = { clientId: 'x', body: 'hi' }
    expect((await post(undefined, bob.id, ok)).status).toBe(401)

    const nobody = await post(alice.token, crypto.randomUUID(), { clientId: 'x', body: opener() })
    expect(nobody.status).toBe(404)
    expect((await problem(nobody)).code).toBe('not_found')

    const self = await post(alice.token, alice.id, ok)
    expect(self.status).toBe(422)
    expect((await problem(self)).errors?.[0]?.path).toBe('param.peerId')
    expect((await post(alice.token, 'not-a-uuid', ok)).status).toBe(422)
    for (const [body, path] of [
      [{ body: 'hi' }, 'clientId'],
      [{ clientId: '', body: 'hi' }, 'clientId'],
      [{ clientId: 'x'.repeat(129), body: 'hi' }, 'clientId'],
      [{ clientId: 'x' }, 'body'],
      [{ clientId: 'x', body: '' }, 'body'],
    ] as const) {
      const res = await post(alice.token, bob.id, body)
      expect(res.status).toBe(422)
      expect((await problem(res)).errors?.map((e) => e.path).join()).toContain(path)
    }

    const onboarding = await account('member', { status: 'onboarding' })
    const early = await post(onboarding.token, bob.id, ok)
    expect(early.status).toBe(409)
    expect((await problem(early)).code).toBe('onboarding_required')
    expect(await storedMessages(alice.id, bob.id)).toEqual([])
  })
})
