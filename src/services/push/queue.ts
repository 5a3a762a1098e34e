import { sql } from 'drizzle-orm'
import { z } from 'zod'
import type { Services } from '..'
import { chooseChannels, loadChannelFacts } from './channels'
import { type PushItem, PushItemSchema, type PushNotification, type PushOutcome, sendPushes } from './deliver'

/**
 * The PUSH queue: pushes never run on the chat path. A Conversation drops a `message` event
 * here after the message committed; the consumer receives up to 100 at once (wrangler.toml), so
 * a burst of messages costs one Expo request per 100 pushes instead of one per message. Items
 * that failed for a transient reason come back as a `deliver` message with a growing delay,
 * carrying exactly what is left to send, so targets that already got theirs are not pushed twice.
 */
export const PushQueueMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('message'),
    recipientId: z.uuid(),
    senderId: z.uuid(),
    box: z.enum(['intros', 'chats']),
    body: z.string().max(20_000),
    voice: z.boolean(),
    /** When the message was stored (ISO): the unread state this push announces. */
    at: z.iso.datetime({ offset: true }),
  }),
  z.object({
    type: z.literal('deliver'),
    attempt: z.number().int().min(1),
    items: z.array(PushItemSchema).max(500),
  }),
])
export type PushQueueMessage = z.infer<typeof PushQueueMessageSchema>
export type MessageEvent = Extract<PushQueueMessage, { type: 'message' }>

/** Deliveries after the first, at 5 s, 10 s, 20 s, 40 s, 80 s; then the items are given up. */
export const maxPushAttempts = 6
export const pushRetryDelaySeconds = (attempt: number, retryAfter?: number) =>
  Math.min(3600, Math.max(5 * 2 ** Math.max(0, attempt - 1), Math.ceil(retryAfter ?? 0)))

/** A push body is at most this many characters (the reference's cut). */
export const maxPushBodyChars = 128

/** Cut at {@link maxPushBodyChars} code points, the last one an ellipsis when cut. */
export function pushBody(text: string): string {
  const chars = Array.from(text.replace(/\s+/g, ' ').trim())
  return chars.length <= maxPushBodyChars
    ? chars.join('')
    : `${chars.slice(0, maxPushBodyChars - 1).join('')}…`
}

/** "<name> sent you a message", the text, and a deep link to the conversation with the sender. */
export function messageNotification(
  senderName: string | null,
  e: Pick<MessageEvent, 'senderId' | 'box' | 'body' | 'voice'>,
): PushNotification {
  return {
    title: `${senderName ?? 'Someone'} sent you a message`,
    body: pushBody(e.voice ? 'Voice message' : e.body),
    data: { type: 'message', box: e.box, peerId: e.senderId, url: `/conversations/${e.senderId}` },
  }
}

/**
 * Immediate pushes for new messages: to recipients whose setting for that box is
 * "immediately", who are active, and whom the channel rule lets a push alone reach (when it
 * also wants an email, the notifications cron sends both, on its own schedule). Each pushed
 * box's notified-at stamp moves to the message's time, so the cron does not announce the same
 * unread state a second time.
 */
export async function immediatePushItems(s: Services, events: MessageEvent[]): Promise<PushItem[]> {
  if (events.length === 0) return []
  const { rows } = await s.database.db.execute<{
    recipient_id: string
    sender_id: string
    sender_name: string | null
    intros: string
    chats: string
  }>(sql`
    select distinct m.recipient_id, m.sender_id, w.name as sender_name,
      p.intros_notification as intros, p.chats_notification as chats
    from unnest(${`{${events.map((e) => e.recipientId).join(',')}}`}::uuid[],
                ${`{${events.map((e) => e.senderId).join(',')}}`}::uuid[]) as m(recipient_id, sender_id)
    join users u on u.id = m.recipient_id and u.status = 'active' and u.deleted_at is null
    join profiles p on p.user_id = m.recipient_id
    join users w on w.id = m.sender_id`)
  const facts = new Map(rows.map((r) => [`${r.recipient_id}:${r.sender_id}`, r]))
  const due = events.filter((e) => {
    const r = facts.get(`${e.recipientId}:${e.senderId}`)
    return r && r[e.box] === 'immediately'
  })
  const channels = await loadChannelFacts(
    s,
    due.map((e) => e.recipientId),
  )
  const now = s.clock.now()
  const items: PushItem[] = []
  const stamps = new Map<string, { intros: string | null; chats: string | null }>()
  for (const e of due) {
    const f = channels.get(e.recipientId)
    if (!f) continue
    const chosen = chooseChannels(f, now)
    if (chosen.email || chosen.push.length === 0) continue
    const notification = messageNotification(facts.get(`${e.recipientId}:${e.senderId}`)!.sender_name, e)
    for (const target of chosen.push) items.push({ target, notification })
    const stamp = stamps.get(e.recipientId) ?? { intros: null, chats: null }
    if (!stamp[e.box] || stamp[e.box]! < e.at) stamp[e.box] = e.at
    stamps.set(e.recipientId, stamp)
  }
  if (stamps.size) {
    const ids = [...stamps.keys()]
    const col = (box: 'intros' | 'chats') => `{${ids.map((id) => stamps.get(id)![box] ?? 'NULL').join(',')}}`
    await s.database.db.execute(sql`
      update profiles p set
        -- The event's time is in milliseconds, the stored one in microseconds: + 1 ms covers it.
        intros_notified_at = greatest(p.intros_notified_at, v.intros + interval '1 millisecond'),
        chats_notified_at = greatest(p.chats_notified_at, v.chats + interval '1 millisecond')
      from unnest(${`{${ids.join(',')}}`}::uuid[], ${col('intros')}::timestamptz[], ${col('chats')}::timestamptz[])
        as v(user_id, intros, chats)
      where p.user_id = v.user_id`)
  }
  return items
}

/** Put items that may succeed later back on the queue, or give them up after the last attempt. */
export async function queuePushRetry(
  s: Services,
  outcome: Pick<PushOutcome, 'retry' | 'retryAfterSeconds'>,
  attempt: number,
): Promise<void> {
  if (outcome.retry.length === 0) return
  if (attempt >= maxPushAttempts) {
    s.log.warn('push.given_up', { items: outcome.retry.length, attempt })
    return
  }
  const delaySeconds = pushRetryDelaySeconds(attempt, outcome.retryAfterSeconds)
  // Keep each queue message well under the queue's 128 KB.
  for (let i = 0; i < outcome.retry.length; i += 100) {
    await s.env.PUSH.send(
      { type: 'deliver', attempt: attempt + 1, items: outcome.retry.slice(i, i + 100) },
      { delaySeconds },
    )
  }
}

/**
 * One batch from the PUSH queue: immediate pushes for the `message` events, plus the
 * `deliver` retries, sent together (so their Expo messages share requests).
 */
export async function handlePushBatch(s: Services, messages: PushQueueMessage[]): Promise<PushOutcome> {
  const events = messages.filter((m): m is MessageEvent => m.type === 'message')
  const fresh = await immediatePushItems(s, events)
  const retries = messages.filter((m) => m.type === 'deliver')
  const outcomes = await Promise.all([
    sendPushes(s, fresh).then(async (o) => {
      await queuePushRetry(s, o, 1)
      return o
    }),
    ...retries.map(async (m) => {
      const o = await sendPushes(s, m.items)
      await queuePushRetry(s, o, m.attempt)
      return o
    }),
  ])
  const total: PushOutcome = { sent: 0, dropped: 0, failed: 0, retry: [] }
  for (const o of outcomes) {
    total.sent += o.sent
    total.dropped += o.dropped
    total.failed += o.failed
    total.retry.push(...o.retry)
  }
  s.log.info('push.batch', {
    events: events.length,
    retries: retries.length,
    sent: total.sent,
    dropped: total.dropped,
    failed: total.failed,
    requeued: total.retry.length,
  })
  return total
}
