import { sql } from 'drizzle-orm'
import type { Services } from '..'
import { pairOf } from './history'

/**
 * Read markers and reactions: the two things a member writes on a conversation besides messages.
 * Both are single statements; the Conversation Durable Object decides who hears about them.
 */

export interface ReadResult {
  /** The highest sequence number the reader has now read (0 when nothing was ever received). */
  readSeq: number
  /** The marker moved forward: the peer may be told (a read receipt). */
  advanced: boolean
  readAt: string
}

/**
 * Mark the conversation read by `readerId` up to `upToSeq` (default: everything). The marker
 * never moves backwards or past the last message the reader can see; the unread count becomes the number of the
 * peer's visible messages after it (0 when reading everything).
 *
 * @example
 * const { readSeq, advanced } = await markConversationRead(s, me, peer)
 */
export async function markConversationRead(
  s: Services,
  readerId: string,
  peerId: string,
  upToSeq: number | null,
): Promise<ReadResult> {
  const { memberA, memberB } = pairOf(readerId, peerId)
  const now = s.clock.now()
  const { rows } = await s.database.db.execute<Record<string, unknown>>(sql`
    with target as (
      -- Never past the last message the reader can see: a marker (and so a receipt) must not
      -- cover a shadow-banned peer's hidden message.
      select least(coalesce(${upToSeq}::bigint, c.last_seq), coalesce((select max(m.seq) from messages m
        where m.member_a = c.member_a and m.member_b = c.member_b
          and (not m.hidden_from_recipient or m.sender_id = ${readerId}::uuid)), 0)) as seq
      from conversations c where c.member_a = ${memberA}::uuid and c.member_b = ${memberB}::uuid
    ), before as (
      select e.read_seq from inbox_entries e, target t
      where e.owner_id = ${readerId}::uuid and e.peer_id = ${peerId}::uuid
        and (t.seq > e.read_seq or e.unread_count > 0)
      for update of e
    ), updated as (
      update inbox_entries e set read_seq = greatest(e.read_seq, t.seq), read_at = ${now},
        unread_count = (select count(*) from messages m
          where m.member_a = ${memberA}::uuid and m.member_b = ${memberB}::uuid and m.sender_id = ${peerId}::uuid
            and m.seq > greatest(e.read_seq, t.seq) and not m.hidden_from_recipient)
      from target t
      where e.owner_id = ${readerId}::uuid and e.peer_id = ${peerId}::uuid and exists (select 1 from before)
      returning e.read_seq
    )
    select (select read_seq from updated)::float8 as read_seq, (select read_seq from before)::float8 as old_seq,
      (select read_seq from inbox_entries where owner_id = ${readerId}::uuid and peer_id = ${peerId}::uuid)::float8
        as current_seq`)
  const row = rows[0]!
  const updated = row.read_seq == null ? null : Number(row.read_seq)
  const readSeq = updated ?? (row.current_seq == null ? 0 : Number(row.current_seq))
  return { readSeq, advanced: updated !== null && updated > Number(row.old_seq), readAt: now.toISOString() }
}

/**
 * Set (or with null clear) the one reaction on a message — only on a message the peer sent and
 * the reactor can see. Returns false when there is no such message. With `store` false (a
 * shadow-banned reactor: the reaction column is shown to both members) it only checks that the
 * message exists.
 *
 * @example
 * await reactToMessage(s, me, peer, 12, '❤️') // true
 */
export async function reactToMessage(
  s: Services,
  reactorId: string,
  peerId: string,
  seq: number,
  emoji: string | null,
  store = true,
): Promise<boolean> {
  const { memberA, memberB } = pairOf(reactorId, peerId)
  const target = sql`member_a = ${memberA}::uuid and member_b = ${memberB}::uuid and seq = ${seq}::bigint
      and sender_id = ${peerId}::uuid and not hidden_from_recipient`
  const { rows } = await s.database.db.execute(
    store
      ? sql`update messages set reaction = ${emoji}::text, reacted_at = ${emoji === null ? null : s.clock.now()}
          where ${target} returning seq`
      : sql`select seq from messages where ${target}`,
  )
  return rows.length > 0
}
