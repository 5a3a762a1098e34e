import { z } from '@hono/zod-openapi'
import { and, asc, count, desc, eq, gt, inArray, or, sql, type SQL } from 'drizzle-orm'
import { conversations, inboxEntries, messages, photos, profiles, skips, users } from '../../db/schema'
import type { Database } from '../../db/client'
import { ApiError } from '../../lib/http/errors'
import { mediaUrl } from '../media/media-url'
import { type Page, type PageRequest, pageWindow, paginate } from '../../lib/http/pagination'
import { matchPercentage } from '../personality/maths'
import type { Services } from '..'
import { pairOf } from './history'

/**
 * The inbox: one `inbox_entries` row per conversation per member, written by the Conversation
 * Durable Object with each message. This module only reads it. Boxes follow these
 * inbox-info: a conversation sits in `intros` (a first message I have not answered) or `chats`,
 * unless the other member is gone or hidden from me — deleted, deactivated, shadow-banned, or a
 * skip in either direction — in which case it is in `archive` with their identity masked.
 */

export const inboxBoxValues = ['intros', 'chats', 'archive'] as const
export type InboxBox = (typeof inboxBoxValues)[number]

const PhotoRefSchema = z
  .object({ url: z.url(), blurhash: z.string() })
  .openapi('PhotoRef', { description: "The member's first photo, 450 px square" })

export const InboxEntrySchema = z
  .object({
    peerId: z.uuid(),
    slug: z.string().nullable().openapi({ description: 'Null when masked' }),
    name: z.string().nullable().openapi({ description: 'Null when masked' }),
    photo: PhotoRefSchema.nullable(),
    verified: z.boolean().openapi({ description: 'Verified at level basics or photos' }),
    matchPercentage: z.number().int().min(0).max(99).nullable(),
    box: z.enum(inboxBoxValues),
    masked: z.boolean().openapi({ description: 'The other member is gone or hidden from you' }),
    lastMessage: z.object({
      seq: z.number().int(),
      body: z.string(),
      fromMe: z.boolean(),
      at: z.iso.datetime(),
    }),
    unread: z.number().int(),
  })
  .openapi('InboxEntry')
export type InboxEntry = z.infer<typeof InboxEntrySchema>

export const ConversationHeaderSchema = z
  .object({
    peerId: z.uuid(),
    name: z.string().nullable(),
    slug: z.string().nullable(),
    photo: PhotoRefSchema.nullable(),
    available: z
      .boolean()
      .openapi({ description: 'The member is live and no skip stands between you: you can message them' }),
    skipped: z.boolean().openapi({ description: 'You skipped this member' }),
  })
  .openapi('ConversationHeader')
export type ConversationHeader = z.infer<typeof ConversationHeaderSchema>

export const UnreadTotalsSchema = z.object({ intros: z.number().int(), chats: z.number().int() })
export type UnreadTotals = z.infer<typeof UnreadTotalsSchema>

/** SQL: is `peer` hidden from `owner` (gone, deactivated, shadow-banned, or a skip either way)? */
export function hiddenPeer(ownerId: SQL | string, peerId: SQL | string): SQL {
  return sql`(
    not exists (select 1 from ${users} u join ${profiles} p on p.user_id = u.id
      where u.id = ${peerId} and u.deleted_at is null and u.status = 'active'
        and p.onboarded_at is not null and p.shadow_banned_at is null)
    or exists (select 1 from ${skips} k where (k.subject_id = ${ownerId} and k.object_id = ${peerId})
      or (k.subject_id = ${peerId} and k.object_id = ${ownerId})))`
}

const entryHidden = hiddenPeer(sql`${inboxEntries.ownerId}`, sql`${inboxEntries.peerId}`)

function boxCondition(box: InboxBox): SQL {
  return box === 'archive' ? entryHidden : and(eq(inboxEntries.box, box), sql`not ${entryHidden}`)!
}

/**
 * SQL: a column of the peer's first photo (lowest live position) — the same photo
 * {@link firstPhotos} picks — read inside the inbox statement rather than by a second one.
 */
const firstPhoto = (column: SQL) =>
  sql<
    string | null
  >`(select ${column} from ${photos} where ${photos.userId} = ${inboxEntries.peerId} and ${photos.position} > 0 order by ${photos.position} limit 1)`

const photoRef = (s: Services, id: string, blurhash: string) => ({
  url: mediaUrl(s.config, 'images', `450-${id}.jpg`),
  blurhash,
})

/** First photos (lowest live position) of `userIds`, as 450 px URLs. */
async function firstPhotos(s: Services, userIds: string[]) {
  const result = new Map<string, { url: string; blurhash: string }>()
  if (userIds.length === 0) return result
  const rows = await s.database.db
    .select({ userId: photos.userId, id: photos.id, blurhash: photos.blurhash })
    .from(photos)
    .where(and(inArray(photos.userId, userIds), gt(photos.position, 0)))
    .orderBy(asc(photos.position))
  for (const row of rows) {
    if (!result.has(row.userId)) {
      result.set(row.userId, {
        url: mediaUrl(s.config, 'images', `450-${row.id}.jpg`),
        blurhash: row.blurhash,
      })
    }
  }
  return result
}

/**
 * Total unread messages per box, counting only conversations that are not archived: the
 * numbers the hub greets with and a client badges.
 *
 * @example
 * const { intros, chats } = await unreadTotals(s, userId)
 */
export async function unreadTotals(s: Services, userId: string): Promise<UnreadTotals> {
  const rows = await s.database.db
    .select({ box: inboxEntries.box, unread: sql<number>`sum(${inboxEntries.unreadCount})::int` })
    .from(inboxEntries)
    .where(and(eq(inboxEntries.ownerId, userId), gt(inboxEntries.unreadCount, 0), sql`not ${entryHidden}`))
    .groupBy(inboxEntries.box)
  const totals = { intros: 0, chats: 0 }
  for (const row of rows) totals[row.box] = Number(row.unread)
  return totals
}

/**
 * One page of a member's inbox box, newest conversation first.
 *
 * @example
 * const page = await listInbox(s, me, 'chats', { page: 1, items_per_page: 20 })
 */
export async function listInbox(
  s: Services,
  ownerId: string,
  box: InboxBox,
  request: PageRequest,
): Promise<Page<InboxEntry>> {
  const { db } = s.database
  const where = and(eq(inboxEntries.ownerId, ownerId), boxCondition(box))
  const { limit, offset } = pageWindow(request)
  // One round trip: the page (each visible peer's first photo read in the same statement), the
  // total and my personality vector, in one HTTP batch.
  const [rows, [total], [mine]] = await db.batch([
    db
      .select({
        entry: inboxEntries,
        hidden: sql<boolean>`${entryHidden}`,
        name: users.name,
        slug: profiles.urlSlug,
        level: profiles.verificationLevel,
        personality: profiles.personality,
        photoId: firstPhoto(sql`${photos.id}`),
        photoBlurhash: firstPhoto(sql`${photos.blurhash}`),
      })
      .from(inboxEntries)
      .innerJoin(users, eq(users.id, inboxEntries.peerId))
      .leftJoin(profiles, eq(profiles.userId, inboxEntries.peerId))
      .where(where)
      .orderBy(desc(inboxEntries.lastAt), asc(inboxEntries.peerId))
      .limit(limit)
      .offset(offset),
    db.select({ n: count() }).from(inboxEntries).where(where),
    db.select({ personality: profiles.personality }).from(profiles).where(eq(profiles.userId, ownerId)),
  ])
  const data = rows.map(({ entry, hidden, photoId, photoBlurhash, ...peer }): InboxEntry => {
    const lastMessage = {
      seq: entry.lastSeq,
      body: entry.lastBody,
      fromMe: entry.lastSenderId === ownerId,
      at: entry.lastAt.toISOString(),
    }
    const common = {
      peerId: entry.peerId,
      box: (hidden ? 'archive' : entry.box) as InboxBox,
      lastMessage,
      unread: entry.unreadCount,
    }
    if (hidden) {
      return {
        ...common,
        slug: null,
        name: null,
        photo: null,
        verified: false,
        matchPercentage: null,
        masked: true,
      }
    }
    return {
      ...common,
      slug: peer.slug,
      name: peer.name,
      photo: photoId && photoBlurhash ? photoRef(s, photoId, photoBlurhash) : null,
      verified: peer.level !== null && peer.level !== 'none',
      matchPercentage: matchPercentage(mine?.personality, peer.personality),
      masked: false,
    }
  })
  return paginate(data, Number(total?.n ?? 0), request)
}

/**
 * Whether `a` has a conversation with `b` that `a` can see: an inbox entry, which sending any
 * message or receiving a visible one creates. Messages a shadow-banned `b` wrote (hidden from
 * `a`) alone do not make one, so `a` cannot learn of them from a 200 instead of a 404.
 *
 * @example
 * if (!(await conversationExists(s, me, peer))) throw new ApiError('not_found', 'No such conversation')
 */
export async function conversationExists(s: Services, a: string, b: string): Promise<boolean> {
  const rows = await conversationExistsQuery(s, a, b)
  return rows.length > 0
}

/**
 * The statement behind {@link conversationExists}, not yet run (one row when the conversation
 * exists, none otherwise), to read in one `db.batch` with the statements that depend on it.
 *
 * @example
 * const [entry, rows] = await s.database.db.batch([conversationExistsQuery(s, me, peer), pageQuery])
 */
export function conversationExistsQuery(s: Services, a: string, b: string) {
  return s.database.db
    .select({ lastSeq: inboxEntries.lastSeq })
    .from(inboxEntries)
    .where(and(eq(inboxEntries.ownerId, a), eq(inboxEntries.peerId, b)))
}

/**
 * What a conversation screen shows about the other member, without recording a profile visit.
 * 404 when the peer is not a live member and we never talked (an unknown id and a hidden one
 * look the same); masked (no name, photo or slug) when they are gone or hidden from me.
 *
 * @example
 * const header = await conversationHeader(s, me, peerId)
 */
export async function conversationHeader(
  s: Services,
  viewerId: string,
  peerId: string,
): Promise<ConversationHeader> {
  const [row] = await s.database.db
    .select({
      name: users.name,
      slug: profiles.urlSlug,
      hidden: sql<boolean>`${hiddenPeer(viewerId, peerId)}`,
      skipped: sql<boolean>`exists (select 1 from ${skips} where ${skips.subjectId} = ${viewerId} and ${skips.objectId} = ${peerId})`,
      gone: sql<boolean>`(${users.deletedAt} is not null or ${users.status} <> 'active' or ${profiles.onboardedAt} is null)`,
      talked: sql<boolean>`exists (select 1 from ${conversations} where ${conversations.memberA} = ${pairOf(viewerId, peerId).memberA} and ${conversations.memberB} = ${pairOf(viewerId, peerId).memberB})`,
    })
    .from(users)
    .leftJoin(profiles, eq(profiles.userId, users.id))
    .where(and(eq(users.id, peerId), eq(users.role, 'member')))
  if (!row || (row.gone && !row.talked)) throw new ApiError('not_found', 'No such member')
  if (row.hidden) {
    return { peerId, name: null, slug: null, photo: null, available: false, skipped: row.skipped }
  }
  const photoOf = await firstPhotos(s, [peerId])
  return {
    peerId,
    name: row.name,
    slug: row.slug,
    photo: photoOf.get(peerId) ?? null,
    available: true,
    skipped: false,
  }
}

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0]

/**
 * The chat part of a member's data export: their inbox rows and every message they can see
 * (their own, and the other member's unless hidden from them).
 *
 * @example
 * const { inbox, messages } = await chatExport(tx, userId)
 */
export async function chatExport(tx: Tx, userId: string) {
  // One connection: statements in a transaction run one after another anyway.
  const inbox = await tx
    .select()
    .from(inboxEntries)
    .where(eq(inboxEntries.ownerId, userId))
    .orderBy(desc(inboxEntries.lastAt))
  const messageRows = await tx
    .select({
      memberA: messages.memberA,
      memberB: messages.memberB,
      seq: messages.seq,
      senderId: messages.senderId,
      body: messages.body,
      audioKey: messages.audioKey,
      isIntro: messages.isIntro,
      reaction: messages.reaction,
      createdAt: messages.createdAt,
    })
    .from(messages)
    .where(
      and(
        or(eq(messages.memberA, userId), eq(messages.memberB, userId)),
        or(eq(messages.hiddenFromRecipient, false), eq(messages.senderId, userId)),
      ),
    )
    .orderBy(asc(messages.memberA), asc(messages.memberB), asc(messages.seq))
  return { inbox, messages: messageRows }
}
