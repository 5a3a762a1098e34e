import { z } from '@hono/zod-openapi'
import { and, asc, desc, eq, gt, lt, or, type SQL } from 'drizzle-orm'
import { messages } from '../../db/schema'
import { mediaUrl } from '../media/media-url'
import type { Services } from '..'

/**
 * Reading a conversation's history from Postgres, the system of record. Shared by the
 * Conversation Durable Object (resume and history frames) and the REST history route, so both
 * apply one visibility rule: a message `hidden_from_recipient` (a shadow-banned sender's) is
 * shown to its sender only, so the sender sees nothing odd and the recipient never sees it.
 */

export const ChatMessageSchema = z
  .object({
    seq: z.number().int().openapi({ description: 'Per-conversation sequence number, gap-free', example: 42 }),
    clientId: z.string().openapi({ description: "The sender's idempotency key for this message" }),
    senderId: z.uuid(),
    body: z.string(),
    audioUrl: z
      .string()
      .nullable()
      .openapi({ description: 'A voice message: immutable URL of the recording' }),
    reaction: z.string().nullable().openapi({ description: "The recipient's emoji reaction", example: '❤️' }),
    createdAt: z.iso.datetime(),
  })
  .openapi('ChatMessage')

export type ChatMessage = z.infer<typeof ChatMessageSchema>

export type MessageRow = typeof messages.$inferSelect

/** Largest page of `messagesAfter` (socket resume) and of `messagesBefore` (scrolling back). */
export const maxResumeMessages = 500
export const maxHistoryPage = 50

/**
 * The wire form of a stored message, the same over REST and the sockets: a voice message's
 * `audioUrl` is absolute (see {@link mediaUrl}).
 *
 * @example
 * toChatMessage(s, row) // { seq: 3, clientId: 'c-3', senderId, body: 'hi', audioUrl: null, … }
 */
export function toChatMessage(s: Pick<Services, 'config'>, row: MessageRow): ChatMessage {
  return {
    seq: row.seq,
    clientId: row.clientId,
    senderId: row.senderId,
    body: row.body,
    audioUrl: row.audioKey ? mediaUrl(s.config, 'audio', row.audioKey) : null,
    reaction: row.reaction,
    createdAt: row.createdAt.toISOString(),
  }
}

/** The pair's stored order: `member_a < member_b`. */
export function pairOf(x: string, y: string): { memberA: string; memberB: string } {
  return x < y ? { memberA: x, memberB: y } : { memberA: y, memberB: x }
}

function visibleTo(viewerId: string, peerId: string, ...conditions: SQL[]): SQL {
  const { memberA, memberB } = pairOf(viewerId, peerId)
  return and(
    eq(messages.memberA, memberA),
    eq(messages.memberB, memberB),
    or(eq(messages.hiddenFromRecipient, false), eq(messages.senderId, viewerId)),
    ...conditions,
  )!
}

const clamp = (limit: number, max: number) => Math.max(1, Math.min(max, Math.trunc(limit) || 1))

/**
 * Messages after `afterSeq` that `viewerId` may see, ascending: what a reconnecting socket missed.
 *
 * @example
 * const missed = await messagesAfter(s, me, peer, lastSeqSeen, 500)
 */
export async function messagesAfter(
  s: Services,
  viewerId: string,
  peerId: string,
  afterSeq: number,
  limit: number,
): Promise<ChatMessage[]> {
  const rows = await messagesAfterQuery(s, viewerId, peerId, afterSeq, clamp(limit, maxResumeMessages))
  return rows.map((row) => toChatMessage(s, row))
}

/**
 * The statement behind {@link messagesAfter}, not yet run and with `limit` as given (the caller
 * bounds it): for a `db.batch` that reads it in the same round trip as other statements.
 *
 * @example
 * const [entry, rows] = await s.database.db.batch([existsQuery, messagesAfterQuery(s, me, peer, 41, 51)])
 */
export function messagesAfterQuery(
  s: Services,
  viewerId: string,
  peerId: string,
  afterSeq: number,
  limit: number,
) {
  return s.database.db
    .select()
    .from(messages)
    .where(visibleTo(viewerId, peerId, gt(messages.seq, afterSeq)))
    .orderBy(asc(messages.seq))
    .limit(limit)
}

/**
 * The page of messages just below `beforeSeq` (the newest ones when null) that `viewerId` may
 * see, returned ascending so a client prepends it as is.
 *
 * @example
 * const latest = await messagesBefore(s, me, peer, null, 50)
 * const older = await messagesBefore(s, me, peer, latest[0].seq, 50)
 */
export async function messagesBefore(
  s: Services,
  viewerId: string,
  peerId: string,
  beforeSeq: number | null,
  limit: number,
): Promise<ChatMessage[]> {
  const rows = await messagesBeforeQuery(s, viewerId, peerId, beforeSeq, clamp(limit, maxHistoryPage))
  return rows.reverse().map((row) => toChatMessage(s, row))
}

/**
 * The statement behind {@link messagesBefore}, not yet run: rows *descending* by `seq`, `limit`
 * as given (the caller bounds it; one more than a page tells whether another page follows).
 *
 * @example
 * const [entry, rows] = await s.database.db.batch([existsQuery, messagesBeforeQuery(s, me, peer, null, 51)])
 */
export function messagesBeforeQuery(
  s: Services,
  viewerId: string,
  peerId: string,
  beforeSeq: number | null,
  limit: number,
) {
  return s.database.db
    .select()
    .from(messages)
    .where(visibleTo(viewerId, peerId, ...(beforeSeq === null ? [] : [lt(messages.seq, beforeSeq)])))
    .orderBy(desc(messages.seq))
    .limit(limit)
}
