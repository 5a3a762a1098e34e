import { and, eq, sql } from 'drizzle-orm'
import { isUniqueViolation } from '../../db/errors'
import { messages, storageDeletions, type Role } from '../../db/schema'
import { type AudioInfo, AudioProbeError, formatSeconds, probeAudio } from '../../lib/codecs/audio-probe'
import { ApiError } from '../../lib/http/errors'
import { describeError } from '../../lib/log'
import type { Services } from '..'
import { immutableCacheControl, newMediaId } from '../media/media-objects'
import { pairOf } from './history'
import type { ChatError } from './protocol'
import {
  type VerificationLevel,
  dailyIntroLimits,
  introHash,
  introLimitSubreason,
  isBodyTooLong,
  isSpamIntro,
  maxBodyChars,
} from './rules'

/**
 * The write side of chat: what the Conversation Durable Object needs to know about a pair before
 * accepting a message, and the one statement that stores it. Round trips are the budget here (a
 * message should reach the other member within ~15 ms), so:
 *
 * - the pair's facts (both accounts' standing, skips, who has messaged whom) are one query, which
 *   the Durable Object keeps for a few seconds ({@link loadPairFacts});
 * - an intro's extra checks (reports, today's intros, uniqueness) are one more statement, and
 *   only intros pay for it ({@link checkIntro});
 * - the write is a single call of a PL/pgSQL function over Neon's HTTP endpoint ({@link writeMessage}):
 *   one round trip, one implicit transaction, so the acknowledgement can only follow a commit,
 *   and its statements' plans are cached per connection;
 * - replies that queue up in a busy conversation while a write is in flight are stored together,
 *   one call and one commit for all of them ({@link writeMessages}).
 */

export interface MemberFacts {
  id: string
  role: Role
  /** Active, not deleted, onboarded: someone who can be written to. */
  live: boolean
  createdAt: Date
  tierId: string | null
  level: VerificationLevel
  verificationRequired: boolean
  shadowBanned: boolean
  /** Has sent the other member at least one message. */
  messaged: boolean
  /**
   * Has messaged the other member in a way they could see: false when every message so far was
   * hidden from them (a shadow-banned sender's), so the other member's first message is still an
   * intro, under the intro rules, as it would be if nothing had been sent.
   */
  messagedVisibly: boolean
}

export interface PairFacts {
  /** Keyed by member id; a member missing here does not exist. */
  members: Map<string, MemberFacts>
  /** A skip in either direction. */
  skipped: boolean
}

const bool = (v: unknown) => v === true || v === 't' || v === 'true'

/**
 * Both members' standing and the pair's relations, in one round trip.
 *
 * @example
 * const facts = await loadPairFacts(s, alice, bob)
 * facts.members.get(bob)?.live // false when Bob deactivated
 */
export async function loadPairFacts(s: Services, x: string, y: string): Promise<PairFacts> {
  const { memberA, memberB } = pairOf(x, y)
  // migrations/0023_chat_pair_facts.sql: its query is planned once per connection.
  const { rows } = await s.database.db.execute<Record<string, unknown>>(sql`
    select id, role, tier_id, live, created_ms, level, verification_required, shadow_banned, messaged,
      visible_or_none, skipped
    from chat_pair_facts(${memberA}::uuid, ${memberB}::uuid)`)
  return factsFromRows(rows)
}

/** The facts from `chat_pair_facts`'s rows (as rows, or as the JSON objects `chat_reply` returns). */
function factsFromRows(rows: Record<string, unknown>[]): PairFacts {
  const members = new Map<string, MemberFacts>()
  let skipped = false
  for (const r of rows) {
    skipped ||= bool(r.skipped)
    members.set(String(r.id), {
      id: String(r.id),
      role: r.role as MemberFacts['role'],
      live: bool(r.live),
      createdAt: new Date(Number(r.created_ms)),
      tierId: (r.tier_id as string | null) ?? null,
      level: r.level as VerificationLevel,
      verificationRequired: bool(r.verification_required),
      shadowBanned: bool(r.shadow_banned),
      messaged: bool(r.messaged),
      messagedVisibly: bool(r.messaged) && bool(r.visible_or_none),
    })
  }
  return { members, skipped }
}

/**
 * The pair's facts loaded afresh and, when they make `m` a plain reply, `m` written, in one round
 * trip (the SQL function `chat_reply`): for a message that finds the facts it was holding expired,
 * which would otherwise wait for a load before its write. A plain reply is what the object would
 * queue for writing: no standing refusal, the sender has written to the recipient (visibly, or is
 * shadow-banned: the message is then hidden) and the recipient has written back visibly. `written`
 * is null when it is not one; the caller then decides on `facts` (a refusal, an intro, a first
 * message). The body's length is the caller's to check first. A client id used before fails the
 * call with a unique violation, as {@link writeMessage} does, and nothing is written.
 *
 * @example
 * const { facts, written } = await replyIfAllowed(s, { senderId, recipientId, clientId: 'c9', body: 'and then?' })
 */
export async function replyIfAllowed(
  s: Services,
  m: { senderId: string; recipientId: string; clientId: string; body: string; audioKey: string | null },
): Promise<{ facts: PairFacts; written: WrittenMessage | null }> {
  const { memberA, memberB } = pairOf(m.senderId, m.recipientId)
  const now = s.clock.now()
  // migrations/0024_chat_reply.sql
  const { rows } = await s.database.db.execute<Record<string, unknown>>(sql`
    select out_facts as facts, out_seq::float8 as seq, out_box as box, out_unread as unread_count
    from chat_reply(${memberA}::uuid, ${memberB}::uuid, ${m.senderId}::uuid, ${m.clientId}::text,
      ${m.body}::text, ${m.audioKey}::text, ${now}::timestamptz)`)
  const row = rows[0]!
  const json = typeof row.facts === 'string' ? (JSON.parse(row.facts) as unknown) : row.facts
  const facts = factsFromRows(json as Record<string, unknown>[])
  if (row.seq == null) return { facts, written: null }
  return {
    facts,
    written: {
      ack: { clientId: m.clientId, seq: Number(row.seq), createdAt: now.toISOString() },
      recipientInbox:
        row.box == null ? null : { box: row.box as 'intros' | 'chats', unread: Number(row.unread_count) },
      created: true,
    },
  }
}

/**
 * The refusals that need only the pair's facts, in this order: the sender must be
 * allowed to chat (verification required, a skip either way, a recipient who is gone), and the
 * body must fit. `null` = go on.
 *
 * @example
 * const refusal = standingRefusal(facts, me, peer, 'hi')
 */
export function standingRefusal(
  facts: PairFacts,
  senderId: string,
  recipientId: string,
  body: string,
): ChatError | null {
  const sender = facts.members.get(senderId)
  const recipient = facts.members.get(recipientId)
  if (!recipient) return { code: 'not_found', message: 'No such member' }
  if (sender?.verificationRequired && sender.level === 'none') {
    return { code: 'verification_required', message: 'Verify your account to keep chatting' }
  }
  if (!sender?.live || !recipient.live || facts.skipped) {
    return { code: 'blocked', message: 'You cannot message this member' }
  }
  if (isBodyTooLong(body)) {
    return { code: 'message_too_long', message: `Messages may be at most ${maxBodyChars} characters` }
  }
  return null
}

/**
 * An intro's checks, after {@link standingRefusal}: links from new accounts are spam; a member
 * writing to someone new must be under today's intro limit; and the opener must never have been
 * used on the platform before (voice messages skip the text rules). The limit's count, the report
 * penalty and the uniqueness counter are one statement; the counter is bumped for every intro
 * that reaches it whether or not it turns out unique.
 *
 * @example
 * const refusal = await checkIntro(s, { sender, recipientId, body, voice: false, newConversation: true })
 */
export async function checkIntro(
  s: Services,
  input: { sender: MemberFacts; body: string; voice: boolean; newConversation: boolean },
): Promise<ChatError | null> {
  const { sender, body, voice, newConversation } = input
  const now = s.clock.now()
  if (!voice && isSpamIntro(body, sender.level, sender.createdAt, now)) {
    return { code: 'spam', message: 'New accounts cannot send links to people they have not talked to yet' }
  }
  if (voice && !newConversation) return null
  const hash = voice ? null : await introHash(body)
  const base = dailyIntroLimits[sender.level]
  const dayAgo = new Date(now.getTime() - 86_400_000)
  const weekAgo = new Date(now.getTime() - 7 * 86_400_000)
  // Intros today = people the sender wrote to first (a `messaged` row whose recipient had not
  // written to them before). Reports = reported skips of the sender this week, bots excluded.
  const { rows } = await s.database.db.execute<Record<string, unknown>>(sql`
    with reports as (
      select count(*)::int as n from skips k join users r on r.id = k.subject_id
      where k.object_id = ${sender.id}::uuid and k.reported and k.created_at > ${weekAgo} and r.role <> 'bot'
    ), intros as (
      select count(*)::int as n, (extract(epoch from min(m.created_at)) * 1000)::float8 as oldest_ms
      from messaged m
      where m.subject_id = ${sender.id}::uuid and m.created_at > ${dayAgo}
        and not exists (select 1 from messaged r where r.subject_id = m.object_id
          and r.object_id = m.subject_id and r.created_at <= m.created_at)
    ), allowed as (
      select (not ${newConversation}::boolean or intros.n < (${base}::int >> least(reports.n, 30))) as ok
      from intros, reports
    ), used as (
      insert into intro_hashes (hash, used_count, last_used_at)
      select ${hash}::text, 1, ${now} from allowed where ok and ${hash}::text is not null
      on conflict (hash) do update
        set used_count = intro_hashes.used_count + 1, last_used_at = excluded.last_used_at
      returning used_count
    )
    select allowed.ok, intros.oldest_ms, (select used_count from used) as used_count
    from allowed, intros`)
  const row = rows[0]!
  if (!bool(row.ok)) {
    // When today's oldest intro leaves the window; with none today (reports brought the limit to
    // zero), try again tomorrow.
    const retryAfter =
      row.oldest_ms == null
        ? 86_400
        : Math.max(1, Math.ceil((Number(row.oldest_ms) + 86_400_000 - now.getTime()) / 1000))
    return {
      code: 'rate_limited',
      message: 'You have written to as many new people as you can today',
      subreason: introLimitSubreason(sender.level),
      retryAfter,
    }
  }
  const used = row.used_count == null ? 1 : Number(row.used_count)
  if (used > 1) {
    return {
      code: 'not_unique',
      message: 'Someone already opened with exactly that: say something only you would say',
      usedCount: used - 1,
    }
  }
  return null
}

export interface Ack {
  clientId: string
  seq: number
  createdAt: string
}

export interface WrittenMessage {
  ack: Ack
  /** The recipient's inbox after the write (null when the message is hidden from them). */
  recipientInbox: { box: 'intros' | 'chats'; unread: number } | null
  /** False when the client id was already used: `ack` is the original message's. */
  created: boolean
}

/**
 * Store a message and everything that moves with it in one statement, a call of the SQL function
 * `chat_write_message` (so one transaction and one round trip): the conversation's next sequence
 * number (gap-free: a statement that fails takes its increment with it), the message row, both
 * inbox entries, and the `messaged` relation (unless `recordMessaged` is false).
 *
 * - The sender's inbox entry moves to `chats`, read up to this message.
 * - The recipient's is created in `intros` and stays in its box on later messages (it becomes
 *   `chats` when they reply: their own send moves it), unread + 1. A hidden message (shadow-banned
 *   sender) leaves it untouched.
 *
 * The same client id again (`messages_client_id_key`) finds the original row instead: the
 * statement fails as a whole on the unique index, so even a race leaves one row and no gap.
 *
 * @example
 * const { ack } = await writeMessage(s, { senderId, recipientId, clientId: 'c1', body: 'hi', isIntro: true, hidden: false })
 */
export async function writeMessage(
  s: Services,
  m: {
    senderId: string
    recipientId: string
    clientId: string
    body: string
    audioKey?: string | null
    isIntro: boolean
    hidden: boolean
    /** False when the caller knows the sender has messaged the recipient before (skips a write). */
    recordMessaged?: boolean
  },
): Promise<WrittenMessage> {
  const { memberA, memberB } = pairOf(m.senderId, m.recipientId)
  const now = s.clock.now()
  try {
    // migrations/0016_chat_send_function.sql: its statements are planned once per connection.
    const { rows } = await s.database.db.execute<Record<string, unknown>>(sql`
      select out_seq::float8 as seq, out_box as box, out_unread as unread_count
      from chat_write_message(${memberA}::uuid, ${memberB}::uuid, ${m.senderId}::uuid, ${m.recipientId}::uuid,
        ${m.clientId}::text, ${m.body}::text, ${m.audioKey ?? null}::text, ${m.isIntro}::boolean,
        ${m.hidden}::boolean, ${now}::timestamptz, ${m.recordMessaged ?? true}::boolean)`)
    const row = rows[0]!
    return {
      ack: { clientId: m.clientId, seq: Number(row.seq), createdAt: now.toISOString() },
      recipientInbox:
        row.box == null ? null : { box: row.box as 'intros' | 'chats', unread: Number(row.unread_count) },
      created: true,
    }
  } catch (err) {
    if (!isUniqueViolation(err)) throw err
    const existing = await findAck(s, m.senderId, m.recipientId, m.clientId)
    if (!existing) throw err
    return { ack: existing, recipientInbox: null, created: false }
  }
}

/** A message of a {@link writeMessages} batch: a reply in a conversation both members have written in. */
export interface BatchedMessage {
  senderId: string
  clientId: string
  body: string
  audioKey: string | null
  /** The sender is shadow-banned: the recipient's inbox is left alone. */
  hidden: boolean
}

/**
 * Store messages of one conversation in the order given with one call of the SQL function
 * `chat_write_messages`: one statement, so one transaction, one round trip and one commit for
 * the whole batch (group commit). Each message is written exactly as {@link writeMessage} writes
 * a reply (sequence number, row, both inbox entries); none are intros and every sender has
 * messaged the other member before, so no intro checks or `messaged` rows are due. All or
 * nothing: when any message fails (a client id used before, most likely), none is stored and no
 * sequence number is taken; the caller then writes them one at a time, which tells the reused
 * id apart. Results come back in the order given.
 *
 * @example
 * const written = await writeMessages(s, alice, bob, [{ senderId: alice, clientId: 'c2', body: 'and?', audioKey: null, hidden: false }])
 */
export async function writeMessages(
  s: Services,
  x: string,
  y: string,
  batch: BatchedMessage[],
): Promise<WrittenMessage[]> {
  const { memberA, memberB } = pairOf(x, y)
  const now = s.clock.now()
  // migrations/0021_chat_write_batch.sql. Each array is one parameter (sql.param: a bare array
  // in drizzle's template would become a list), sent as a Postgres array literal by the driver.
  const column = <T>(pick: (m: BatchedMessage) => T) => sql.param(batch.map(pick))
  const { rows } = await s.database.db.execute<Record<string, unknown>>(sql`
    select out_seq::float8 as seq, out_box as box, out_unread as unread_count
    from chat_write_messages(${memberA}::uuid, ${memberB}::uuid, ${column((m) => m.senderId)}::uuid[],
      ${column((m) => m.clientId)}::text[], ${column((m) => m.body)}::text[],
      ${column((m) => m.audioKey)}::text[], ${column((m) => m.hidden)}::boolean[], ${now}::timestamptz)`)
  if (rows.length !== batch.length) {
    throw new Error(`chat_write_messages stored ${rows.length} of ${batch.length} messages`)
  }
  return rows.map((row, i) => ({
    ack: { clientId: batch[i]!.clientId, seq: Number(row.seq), createdAt: now.toISOString() },
    recipientInbox:
      row.box == null ? null : { box: row.box as 'intros' | 'chats', unread: Number(row.unread_count) },
    created: true,
  }))
}

/**
 * The acknowledgement of a message already stored under `clientId`, or null.
 *
 * @example
 * await findAck(s, me, peer, 'c1') // { clientId: 'c1', seq: 7, createdAt: '…' }
 */
export async function findAck(
  s: Services,
  senderId: string,
  recipientId: string,
  clientId: string,
): Promise<Ack | null> {
  const { memberA, memberB } = pairOf(senderId, recipientId)
  const [row] = await s.database.db
    .select({ seq: messages.seq, createdAt: messages.createdAt })
    .from(messages)
    .where(
      and(
        eq(messages.memberA, memberA),
        eq(messages.memberB, memberB),
        eq(messages.senderId, senderId),
        eq(messages.clientId, clientId),
      ),
    )
  return row ? { clientId, seq: Number(row.seq), createdAt: row.createdAt.toISOString() } : null
}

/** Voice messages: the voice bio's limit (two minutes, a second of grace for recorders). */
export const maxVoiceMessageMs = 120_000
const voiceGraceMs = 1_000

/**
 * Vet and store a voice message's recording in the audio bucket, as uploaded (the voice bio's
 * formats: AAC, MP3, Opus). 415 for what is not accepted audio, 422 for a broken or over-long
 * file, 503 when R2 fails. Returns the object key; the message row that will name it is written
 * by the Conversation object, and {@link queueAudioDeletion} takes the object back if it is not.
 *
 * @example
 * const audioKey = await storeVoiceMessage(s, bytes)
 */
export async function storeVoiceMessage(s: Services, bytes: Uint8Array): Promise<string> {
  let info: AudioInfo
  try {
    info = probeAudio(bytes)
  } catch (err) {
    if (!(err instanceof AudioProbeError)) throw err
    const unsupported = err.problem === 'not-audio' || err.problem === 'unsupported'
    throw new ApiError(unsupported ? 'unsupported_media_type' : 'validation_failed', err.message, {
      errors: [{ path: 'body', message: err.message }],
    })
  }
  if (info.durationMs > maxVoiceMessageMs + voiceGraceMs) {
    const detail = `Voice messages may be at most ${maxVoiceMessageMs / 1000} seconds; this recording is ${formatSeconds(info.durationMs)}`
    throw new ApiError('validation_failed', detail, { errors: [{ path: 'body', message: detail }] })
  }
  const key = `${newMediaId()}.${info.extension}`
  try {
    await s.env.AUDIO_BUCKET.put(key, bytes, {
      httpMetadata: { contentType: info.contentType, cacheControl: immutableCacheControl },
    })
  } catch (err) {
    throw new ApiError('service_unavailable', 'Storing the recording failed; try again shortly', {
      cause: err,
    })
  }
  return key
}

/**
 * Queue a stored recording that no message will name (refused, or a resend of a stored one) for
 * the storage clean-up, which re-checks references before deleting. Logged, never thrown.
 */
export async function queueAudioDeletion(s: Services, objectKey: string): Promise<void> {
  try {
    await s.database.db.insert(storageDeletions).values({ bucket: 'audio', objectKey }).onConflictDoNothing()
  } catch (err) {
    s.log.error('chat.orphaned_audio', { error: describeError(err), objectKey })
  }
}
