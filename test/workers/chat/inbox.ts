import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { and, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  conversations,
  exportTokens,
  inboxEntries,
  messages,
  photos,
  skips,
  users,
  visits,
} from '../../../src/db/schema'
import { randomToken, sha256Hex } from '../../../src/lib/crypto'
import worker from '../../../src/index'
import { pairOf } from '../../../src/services/chat/history'
import { account, call, member } from '../fixtures'
import { envWith, origin, problem, services } from '../helpers'
import { bearer, uniqueIp } from '../auth-helpers'

const s = services()
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000)

type Member = Awaited<ReturnType<typeof member>>

/**
 * A conversation as the Conversation Durable Object leaves it in Postgres: the pair row, the
 * messages (`from` sends each body in order) and both inbox rows.
 */
async function converse(
  a: Member,
  b: Member,
  lines: { from: Member; body: string; hidden?: boolean }[],
  opts: { endedMinutesAgo?: number; unreadFor?: Member; unread?: number; box?: 'intros' | 'chats' } = {},
) {
  const pair = pairOf(a.id, b.id)
  const end = opts.endedMinutesAgo ?? 1
  await s.database.db.insert(conversations).values({ ...pair, lastSeq: lines.length })
  await s.database.db.insert(messages).values(
    lines.map((line, i) => ({
      ...pair,
      seq: i + 1,
      senderId: line.from.id,
      clientId: `c-${i + 1}`,
      body: line.body,
      hiddenFromRecipient: line.hidden ?? false,
      createdAt: minutesAgo(end + lines.length - 1 - i),
    })),
  )
  const last = lines.at(-1)!
  for (const [owner, peer] of [
    [a, b],
    [b, a],
  ] as const) {
    await s.database.db.insert(inboxEntries).values({
      ownerId: owner.id,
      peerId: peer.id,
      box: opts.box ?? 'chats',
      lastSeq: lines.length,
      lastSenderId: last.from.id,
      lastBody: last.body,
      lastAt: minutesAgo(end),
      unreadCount: opts.unreadFor?.id === owner.id ? (opts.unread ?? 1) : 0,
    })
  }
}

async function json<T = Record<string, unknown>>(res: Response, status = 200): Promise<T> {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${await res.text()}`)
  return (await res.json()) as T
}

type InboxPage = {
  data: {
    peerId: string
    name: string | null
    slug: string | null
    box: string
    masked: boolean
    unread: number
    photo: { url: string; blurhash: string } | null
    verified: boolean
    matchPercentage: number | null
    lastMessage: { body: string; fromMe: boolean; seq: number }
  }[]
  total_count: number
  has_more: boolean
}

describe('GET /api/v1/inbox', () => {
  it('sorts conversations into intros, chats and a masked archive, newest first', async () => {
    const me = await member({ name: 'Me' })
    const intro = await member({ name: 'Intro', profile: { verificationLevel: 'photos' } })
    const chat = await member({ name: 'Chat' })
    const older = await member({ name: 'Older' })
    const iSkipped = await member({ name: 'ISkipped' })
    const skippedMe = await member({ name: 'SkippedMe' })
    const deleted = await member({ name: 'Deleted' })
    const deactivated = await member({ name: 'Deactivated' })
    const banned = await member({ name: 'Banned', profile: { shadowBannedAt: new Date() } })
    await converse(me, intro, [{ from: intro, body: 'hello there' }], {
      box: 'intros',
      unreadFor: me,
      unread: 2,
      endedMinutesAgo: 3,
    })
    await converse(
      me,
      chat,
      [
        { from: chat, body: 'hi' },
        { from: me, body: 'hey back' },
      ],
      { endedMinutesAgo: 5 },
    )
    await converse(me, older, [{ from: older, body: 'long ago' }], { endedMinutesAgo: 50, unreadFor: me })
    for (const peer of [iSkipped, skippedMe, deleted, deactivated, banned]) {
      await converse(me, peer, [{ from: peer, body: `from ${peer.name}` }], { endedMinutesAgo: 10 })
    }
    await s.database.db.insert(skips).values([
      { subjectId: me.id, objectId: iSkipped.id },
      { subjectId: skippedMe.id, objectId: me.id },
    ])
    await s.database.db.update(users).set({ deletedAt: new Date() }).where(eq(users.id, deleted.id))
    await s.database.db.update(users).set({ status: 'deactivated' }).where(eq(users.id, deactivated.id))
    const photoId = crypto.randomUUID().replaceAll('-', '').repeat(2)
    await s.database.db.insert(photos).values({
      id: photoId,
      userId: intro.id,
      position: 1,
      blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
      width: 900,
      height: 900,
      contentHash: crypto.randomUUID(),
    })

    const intros = await json<InboxPage>(await call('GET', '/api/v1/inbox?box=intros', me.token))
    expect(intros.data).toEqual([
      {
        peerId: intro.id,
        slug: intro.profile.urlSlug,
        name: 'Intro',
        photo: {
          url: `${origin}/media/images/450-${photoId}.jpg`,
          blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
        },
        verified: true,
        matchPercentage: null,
        box: 'intros',
        masked: false,
        lastMessage: { seq: 1, body: 'hello there', fromMe: false, at: expect.any(String) },
        unread: 2,
      },
    ])

    const chats = await json<InboxPage>(await call('GET', '/api/v1/inbox', me.token))
    expect(chats.data.map((e) => e.peerId)).toEqual([chat.id, older.id])
    expect(chats.data[0]).toMatchObject({ name: 'Chat', verified: false, unread: 0, box: 'chats' })
    expect(chats.data[0]!.lastMessage).toMatchObject({ body: 'hey back', fromMe: true, seq: 2 })

    const archive = await json<InboxPage>(await call('GET', '/api/v1/inbox?box=archive', me.token))
    expect(new Set(archive.data.map((e) => e.peerId))).toEqual(
      new Set([iSkipped.id, skippedMe.id, deleted.id, deactivated.id, banned.id]),
    )
    for (const entry of archive.data) {
      expect(entry).toMatchObject({ box: 'archive', masked: true, name: null, slug: null, photo: null })
    }
    expect(archive.total_count).toBe(5)

    // The other side sees its own boxes: the intro I received is in their chats (they sent it).
    const theirs = await json<InboxPage>(await call('GET', '/api/v1/inbox?box=chats', chat.token))
    expect(theirs.data).toMatchObject([{ peerId: me.id, name: 'Me', lastMessage: { fromMe: false } }])
  })

  it('pages with page and items_per_page', async () => {
    const me = await member()
    const peers = [await member(), await member(), await member()]
    for (const [i, peer] of peers.entries()) {
      await converse(me, peer, [{ from: peer, body: `m${i}` }], { endedMinutesAgo: 10 - i })
    }
    const first = await json<InboxPage>(await call('GET', '/api/v1/inbox?items_per_page=2', me.token))
    expect(first).toMatchObject({ total_count: 3, has_more: true, page: 1, items_per_page: 2 })
    expect(first.data.map((e) => e.lastMessage.body)).toEqual(['m2', 'm1'])
    const second = await json<InboxPage>(await call('GET', '/api/v1/inbox?items_per_page=2&page=2', me.token))
    expect(second).toMatchObject({ total_count: 3, has_more: false })
    expect(second.data.map((e) => e.lastMessage.body)).toEqual(['m0'])
  })

  it('answers 401 without a token, 409 while onboarding and 422 for a bad box or page', async () => {
    expect((await call('GET', '/api/v1/inbox')).status).toBe(401)
    const onboarding = await account('member', { status: 'onboarding' })
    const refused = await call('GET', '/api/v1/inbox', onboarding.token)
    expect(refused.status).toBe(409)
    expect((await problem(refused)).code).toBe('onboarding_required')
    const me = await member()
    for (const [query, path] of [
      ['box=spam', 'query.box'],
      ['page=0', 'query.page'],
      ['items_per_page=101', 'query.items_per_page'],
    ]) {
      const res = await call('GET', `/api/v1/inbox?${query}`, me.token)
      expect(res.status).toBe(422)
      expect((await problem(res)).errors?.[0]?.path).toBe(path)
    }
  })

  it('is rate limited per caller with 429', async () => {
    const me = await member()
    const env = envWith({ DEFAULT_RATE_LIMIT_LIMIT: '1' })
    const get = async () => {
      const ctx = createExecutionContext()
      const res = await worker.fetch(
        new Request(`${origin}/api/v1/inbox`, {
          headers: { ...bearer(me.token), 'CF-Connecting-IP': uniqueIp() },
        }),
        env,
        ctx,
      )
      await waitOnExecutionContext(ctx)
      return res
    }
    expect((await get()).status).toBe(200)
    const limited = await get()
    expect(limited.status).toBe(429)
    expect((await problem(limited)).code).toBe('rate_limited')
  })
})

type MessagePage = { data: { seq: number; body: string; senderId: string }[]; has_more: boolean }

describe('GET /api/v1/conversations/{peerId}/messages', () => {
  it('pages back with before, forward with after, and hides hidden messages from the recipient', async () => {
    const me = await member()
    const peer = await member()
    const lines = Array.from({ length: 7 }, (_, i) => ({ from: i % 2 ? me : peer, body: `m${i + 1}` }))
    lines[3] = { from: peer, body: 'm4', hidden: true } as (typeof lines)[number]
    await converse(me, peer, lines)
    const path = (q: string) => `/api/v1/conversations/${peer.id}/messages${q}`

    const newest = await json<MessagePage>(await call('GET', path('?limit=3'), me.token))
    expect(newest.data.map((m) => m.seq)).toEqual([5, 6, 7])
    expect(newest.has_more).toBe(true)
    const older = await json<MessagePage>(await call('GET', path('?limit=3&before=5'), me.token))
    // seq 4 is the peer's hidden message: not mine to see.
    expect(older.data.map((m) => m.seq)).toEqual([1, 2, 3])
    expect(older.has_more).toBe(false)
    const after = await json<MessagePage>(await call('GET', path('?after=2&limit=2'), me.token))
    expect(after.data.map((m) => m.seq)).toEqual([3, 5])
    expect(after.has_more).toBe(true)

    // Its sender sees it.
    const theirs = await json<MessagePage>(
      await call('GET', `/api/v1/conversations/${me.id}/messages?after=3&limit=1`, peer.token),
    )
    expect(theirs.data).toMatchObject([{ seq: 4, body: 'm4', senderId: peer.id }])
  })

  it('answers 404 for a conversation I am not in, even when the member talks to others', async () => {
    const alice = await member()
    const bob = await member()
    const eve = await member()
    await converse(alice, bob, [{ from: alice, body: 'private' }])
    for (const peer of [alice, bob]) {
      const res = await call('GET', `/api/v1/conversations/${peer.id}/messages`, eve.token)
      expect(res.status).toBe(404)
      expect((await problem(res)).code).toBe('not_found')
    }
    expect(
      (await call('GET', `/api/v1/conversations/${crypto.randomUUID()}/messages`, eve.token)).status,
    ).toBe(404)
  })

  it('answers 404 to the recipient of only hidden messages, so a shadow ban does not show', async () => {
    const shady = await member({ profile: { shadowBannedAt: new Date() } })
    const bob = await member()
    const sent = await call('POST', `/api/v1/conversations/${bob.id}/messages`, shady.token, {
      clientId: 'h-1',
      body: `hello ${crypto.randomUUID()}`,
    })
    expect(sent.status).toBe(201)
    for (const [method, suffix] of [
      ['GET', 'messages'],
      ['POST', 'read'],
    ] as const) {
      const res = await call(method, `/api/v1/conversations/${shady.id}/${suffix}`, bob.token)
      expect(res.status).toBe(404)
      expect((await problem(res)).code).toBe('not_found')
    }
    const mine = await json<MessagePage>(
      await call('GET', `/api/v1/conversations/${bob.id}/messages`, shady.token),
    )
    expect(mine.data.map((m) => m.senderId)).toEqual([shady.id])
  })

  it('answers 401, 409 and 422 with the offending field', async () => {
    const me = await member()
    const peer = crypto.randomUUID()
    expect((await call('GET', `/api/v1/conversations/${peer}/messages`)).status).toBe(401)
    const onboarding = await account('member', { status: 'onboarding' })
    expect((await call('GET', `/api/v1/conversations/${peer}/messages`, onboarding.token)).status).toBe(409)
    for (const [target, query, path] of [
      [me.id, '', 'param.peerId'],
      ['not-a-uuid', '', 'param.peerId'],
      [peer, '?limit=51', 'query.limit'],
      [peer, '?before=-1', 'query.before'],
      [peer, '?before=9&after=2', 'query.after'],
    ]) {
      const res = await call('GET', `/api/v1/conversations/${target}/messages${query}`, me.token)
      expect(res.status).toBe(422)
      expect((await problem(res)).errors?.[0]?.path).toBe(path)
    }
  })
})

describe('POST /api/v1/conversations/{peerId}/read', () => {
  it('sets my unread count to 0 and returns the read marker', async () => {
    const me = await member()
    const peer = await member()
    await converse(
      me,
      peer,
      [
        { from: peer, body: 'one' },
        { from: peer, body: 'two' },
      ],
      { unreadFor: me, unread: 2 },
    )
    const body = await json<{ readSeq: number }>(
      await call('POST', `/api/v1/conversations/${peer.id}/read`, me.token),
    )
    expect(body.readSeq).toBe(2)
    const [row] = await s.database.db
      .select()
      .from(inboxEntries)
      .where(and(eq(inboxEntries.ownerId, me.id), eq(inboxEntries.peerId, peer.id)))
    expect(row).toMatchObject({ unreadCount: 0, readSeq: 2 })
  })

  it('answers 404 without a conversation, 422 for myself, 401 and 409', async () => {
    const me = await member()
    const stranger = await member()
    const res = await call('POST', `/api/v1/conversations/${stranger.id}/read`, me.token)
    expect(res.status).toBe(404)
    expect((await call('POST', `/api/v1/conversations/${me.id}/read`, me.token)).status).toBe(422)
    expect((await call('POST', `/api/v1/conversations/${stranger.id}/read`)).status).toBe(401)
    const onboarding = await account('member', { status: 'onboarding' })
    expect((await call('POST', `/api/v1/conversations/${stranger.id}/read`, onboarding.token)).status).toBe(
      409,
    )
  })
})

describe('GET /api/v1/conversations/{peerId}/header', () => {
  it('shows name, slug and photo without recording a visit', async () => {
    const me = await member()
    const peer = await member({ name: 'Robin' })
    const header = await json(await call('GET', `/api/v1/conversations/${peer.id}/header`, me.token))
    expect(header).toEqual({
      peerId: peer.id,
      name: 'Robin',
      slug: peer.profile.urlSlug,
      photo: null,
      available: true,
      skipped: false,
    })
    const recorded = await s.database.db.select().from(visits).where(eq(visits.objectId, peer.id))
    expect(recorded).toEqual([])
  })

  it('masks a member hidden from me and says whether I skipped them', async () => {
    const me = await member()
    const skippedByMe = await member()
    const skippedMe = await member()
    await s.database.db.insert(skips).values([
      { subjectId: me.id, objectId: skippedByMe.id },
      { subjectId: skippedMe.id, objectId: me.id },
    ])
    expect(await json(await call('GET', `/api/v1/conversations/${skippedByMe.id}/header`, me.token))).toEqual(
      {
        peerId: skippedByMe.id,
        name: null,
        slug: null,
        photo: null,
        available: false,
        skipped: true,
      },
    )
    expect(
      await json(await call('GET', `/api/v1/conversations/${skippedMe.id}/header`, me.token)),
    ).toMatchObject({
      name: null,
      available: false,
      skipped: false,
    })
  })

  it('answers 404 for unknown and gone members I never talked to, masked for one I did', async () => {
    const me = await member()
    const goneStranger = await member()
    const goneFriend = await member()
    await converse(me, goneFriend, [{ from: goneFriend, body: 'bye' }])
    await s.database.db.update(users).set({ deletedAt: new Date() }).where(eq(users.id, goneStranger.id))
    await s.database.db.update(users).set({ deletedAt: new Date() }).where(eq(users.id, goneFriend.id))
    expect((await call('GET', `/api/v1/conversations/${crypto.randomUUID()}/header`, me.token)).status).toBe(
      404,
    )
    expect((await call('GET', `/api/v1/conversations/${goneStranger.id}/header`, me.token)).status).toBe(404)
    expect(
      await json(await call('GET', `/api/v1/conversations/${goneFriend.id}/header`, me.token)),
    ).toMatchObject({
      name: null,
      available: false,
    })
    const onboardingPeer = await account('member', { status: 'onboarding' })
    expect((await call('GET', `/api/v1/conversations/${onboardingPeer.id}/header`, me.token)).status).toBe(
      404,
    )
    expect((await call('GET', `/api/v1/conversations/${me.id}/header`, me.token)).status).toBe(422)
    expect((await call('GET', `/api/v1/conversations/${me.id}/header`)).status).toBe(401)
    expect((await call('GET', `/api/v1/conversations/${me.id}/header`, onboardingPeer.token)).status).toBe(
      409,
    )
  })
})

describe('data export', () => {
  it('includes my inbox rows and the messages I can see', async () => {
    const me = await member()
    const peer = await member()
    await converse(me, peer, [
      { from: me, body: 'mine' },
      { from: peer, body: 'hidden from me', hidden: true },
      { from: peer, body: 'theirs' },
    ])
    const token = randomToken()
    await s.database.db.insert(exportTokens).values({
      userId: me.id,
      tokenHash: await sha256Hex(token),
      expiresAt: new Date(Date.now() + 600_000),
    })
    const data = await json<{ inbox: Record<string, unknown>[]; messages: Record<string, unknown>[] }>(
      await call('GET', `/api/v1/me/export/${token}`),
    )
    expect(data.inbox).toMatchObject([{ peerId: peer.id, lastBody: 'theirs' }])
    expect(data.messages.map((m) => m.body)).toEqual(['mine', 'theirs'])
  })
})
