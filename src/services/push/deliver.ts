import { z } from 'zod'
import { pushTickets } from '../../db/schema'
import { describeError } from '../../lib/log'
import type { Services } from '..'
import type { PushTarget } from './channels'
import { type ExpoMessage, ExpoRequestError, expoSendLimit, sendExpoMessages } from './expo'
import { dropTargets } from './targets'
import { sendWebPush } from './web-push'

export interface PushNotification {
  title: string
  body: string
  /** Travels to the app untouched: what to open (`url`) and why (`type`). */
  data: Record<string, string>
}

export interface PushItem {
  target: PushTarget
  notification: PushNotification
}

export const PushItemSchema = z.object({
  target: z.object({
    userId: z.string(),
    sessionId: z.string(),
    kind: z.enum(['expo', 'web']),
    address: z.string(),
    p256dh: z.string().nullable(),
    auth: z.string().nullable(),
  }),
  notification: z.object({ title: z.string(), body: z.string(), data: z.record(z.string(), z.string()) }),
})

export interface PushOutcome {
  /** Accepted by Expo (a ticket) or by a browser push service (201). */
  sent: number
  /** Targets the services declared dead and that were deleted. */
  dropped: number
  /** Refused for good (malformed, too big, bad credentials): logged, not retried. */
  failed: number
  /** Worth sending again later (429, 5xx, network, per-device rate limit). */
  retry: PushItem[]
  /** The longest `Retry-After` any service asked for. */
  retryAfterSeconds?: number
}

/** Expo's SDKs keep at most ~6 requests in flight; so do we, for both services. */
const concurrency = 6

async function pool<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items]
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker))
}

/** The Expo message for one item: sound, high priority, the deep link in `data`. */
function expoMessage(item: PushItem): ExpoMessage {
  return {
    to: item.target.address,
    title: item.notification.title,
    body: item.notification.body,
    data: item.notification.data,
    sound: 'default',
    priority: 'high',
  }
}

/**
 * Send every item: Expo in requests of at most 100 messages (tickets stored for the receipt
 * check), browsers one encrypted request each. Dead targets are deleted on the spot; what may
 * succeed later comes back in `retry` for the caller to re-queue with a delay.
 *
 * @example
 * const outcome = await sendPushes(s, items)
 * if (outcome.retry.length) await queuePushRetry(s, outcome, attempt)
 */
export async function sendPushes(s: Services, items: PushItem[]): Promise<PushOutcome> {
  const outcome: PushOutcome = { sent: 0, dropped: 0, failed: 0, retry: [] }
  const dead: string[] = []
  const tickets: { id: string; token: string }[] = []
  const askRetry = (seconds?: number) => {
    if (seconds) outcome.retryAfterSeconds = Math.max(outcome.retryAfterSeconds ?? 0, seconds)
  }

  const expo = items.filter((i) => i.target.kind === 'expo')
  const chunks: PushItem[][] = []
  for (let i = 0; i < expo.length; i += expoSendLimit) chunks.push(expo.slice(i, i + expoSendLimit))
  const web = items.filter((i) => i.target.kind === 'web')

  await Promise.all([
    pool(chunks, async (chunk) => {
      try {
        const answers = await sendExpoMessages(s.config.push, chunk.map(expoMessage))
        answers.forEach((ticket, i) => {
          const item = chunk[i]!
          if (ticket.status === 'ok') {
            outcome.sent++
            tickets.push({ id: ticket.id, token: item.target.address })
            return
          }
          const code = ticket.details?.error
          if (code === 'DeviceNotRegistered') dead.push(item.target.address)
          else if (code === 'MessageRateExceeded') outcome.retry.push(item)
          else {
            outcome.failed++
            s.log.warn('push.expo_ticket_error', { code, message: ticket.message })
          }
        })
      } catch (err) {
        if (err instanceof ExpoRequestError && err.retryable) {
          outcome.retry.push(...chunk)
          askRetry(err.retryAfterSeconds)
        } else {
          outcome.failed += chunk.length
        }
        s.log.warn('push.expo_request_failed', { messages: chunk.length, error: describeError(err) })
      }
    }),
    pool(web, async (item) => {
      const vapid = s.config.push.vapid
      if (!vapid || !item.target.p256dh || !item.target.auth) {
        outcome.failed++
        return
      }
      const payload = JSON.stringify(item.notification)
      const r = await sendWebPush(
        vapid,
        { endpoint: item.target.address, p256dh: item.target.p256dh, auth: item.target.auth },
        payload,
        { now: s.clock.now(), urgency: 'high' },
      )
      if (r.status >= 200 && r.status < 300) outcome.sent++
      else if (r.gone) dead.push(item.target.address)
      else if (r.retryable) {
        outcome.retry.push(item)
        askRetry(r.retryAfterSeconds)
      } else {
        outcome.failed++
        s.log.warn('push.web_refused', { status: r.status })
      }
    }),
  ])

  if (tickets.length) {
    await s.database.db
      .insert(pushTickets)
      .values(tickets.map((t) => ({ ...t, createdAt: s.clock.now() })))
      .onConflictDoNothing()
  }
  outcome.dropped = await dropTargets(s, dead)
  return outcome
}
