import { asc, inArray, lt } from 'drizzle-orm'
import { pushTickets } from '../../db/schema'
import { describeError } from '../../lib/log'
import type { Services } from '..'
import { ExpoRequestError, expoReceiptLimit, getExpoReceipts } from './expo'
import { dropTargets } from './targets'

/** Expo has receipts once Apple/Google answered: ask after 15 minutes (Expo suggests ~30 at most). */
export const receiptDelayMs = 15 * 60_000
/** Receipts live about a day at Expo; a ticket older than this will never get one. */
export const receiptLifetimeMs = 24 * 3600_000

export interface ReceiptRunResult {
  checked: number
  dropped: number
  pending: number
}

/**
 * Ask Expo for the receipts of tickets older than {@link receiptDelayMs}, at most
 * `batches` × 1,000 per run: `DeviceNotRegistered` deletes the token, a receipt of any kind
 * retires its ticket, a ticket past {@link receiptLifetimeMs} without one is forgotten. When
 * Expo is unreachable or busy the tickets stay for the next run.
 *
 * @example
 * await checkExpoReceipts(s, { batches: 3 })
 */
export async function checkExpoReceipts(s: Services, opts: { batches: number }): Promise<ReceiptRunResult> {
  const result: ReceiptRunResult = { checked: 0, dropped: 0, pending: 0 }
  const now = s.clock.now().getTime()
  const seen = new Set<string>()
  for (let batch = 0; batch < opts.batches; batch++) {
    const tickets = (
      await s.database.db
        .select()
        .from(pushTickets)
        .where(lt(pushTickets.createdAt, new Date(now - receiptDelayMs)))
        .orderBy(asc(pushTickets.createdAt))
        .limit(expoReceiptLimit + seen.size)
    ).filter((t) => !seen.has(t.id))
    if (tickets.length === 0) break
    const page = tickets.slice(0, expoReceiptLimit)
    let receipts
    try {
      receipts = await getExpoReceipts(
        s.config.push,
        page.map((t) => t.id),
      )
    } catch (err) {
      s.log.warn('push.receipts_failed', {
        error: describeError(err),
        retryable: err instanceof ExpoRequestError && err.retryable,
      })
      break
    }
    const done: string[] = []
    const dead: string[] = []
    for (const t of page) {
      const receipt = receipts[t.id]
      if (receipt) {
        done.push(t.id)
        if (receipt.status === 'error') {
          if (receipt.details?.error === 'DeviceNotRegistered') dead.push(t.token)
          else
            s.log.warn('push.expo_receipt_error', { code: receipt.details?.error, message: receipt.message })
        }
      } else if (now - t.createdAt.getTime() > receiptLifetimeMs) done.push(t.id)
      else {
        seen.add(t.id)
        result.pending++
      }
    }
    if (done.length) await s.database.db.delete(pushTickets).where(inArray(pushTickets.id, done))
    result.checked += page.length
    result.dropped += await dropTargets(s, dead)
    if (page.length < expoReceiptLimit) break
  }
  return result
}
