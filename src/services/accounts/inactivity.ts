import { and, asc, eq, gt, inArray, isNull, lt, lte, or } from 'drizzle-orm'
import { sessions, users } from '../../db/schema'
import { describeError } from '../../lib/log'
import { emailHtml } from '../../lib/http/html'
import { sendMail } from '../platform/mail'
import { chooseChannels, loadChannelFacts } from '../push/channels'
import { sendPushes } from '../push/deliver'
import { queuePushRetry } from '../push/queue'
import { revokeSessions } from './sessions'
import type { Services } from '..'
import { day } from './account'

/**
 * Inactivity deactivation (a cron): members away 30 to 50 days are deactivated and told by email.
 */

/** The seed's window: members last online between 30 and 50 days ago. */
const inactiveAfterDays = 30
const inactiveUntilDays = 50
/** A member who signed in this recently is not deactivated, whatever `last_online_at` says. */
const recentSignInMs = 10 * 60_000
/** How long a failed "we deactivated you" email is retried before it is given up. */
const notifyRetryDays = 7
/** SMTP deliveries in flight at once: one connection each. */
const mailConcurrency = 4

export interface InactivityRunResult {
  dryRun: boolean
  /** Deactivated in this run (in a dry run: would have been). */
  deactivated: number
  /** Emails claimed and delivered (or skipped, for @example.com) in this run. */
  notified: number
  /** Deliveries that failed and will be retried by the next run. */
  notifyFailed: number
}

/**
 * Deactivate members who have been away a while, end their sessions and tell them once by email
 * ("sign in again to come back"). Run hourly by cron; bounded by `batchSize` per run and safe to
 * run twice, late or concurrently.
 *
 * Who: role `member`, status `active`, `last_online_at` in (scheduledAt − 50 days, scheduledAt −
 * 30 days], and no sign-in in the last ten minutes. The lower bound is the seed's and is kept on
 * purpose: anyone away longer than 50 days crossed the 30-day line weeks ago and was handled by
 * the runs of those days (the 20-day width absorbs any outage of the cron). An account still
 * active beyond the window is one those runs deliberately left alone (the job was off or in dry
 * run, an admin reactivated it, it was imported); switching the job on must not deactivate and
 * email that whole back catalogue at once.
 *
 * In what order, and why:
 * 1. Deactivate (one conditional UPDATE: a concurrent run cannot deactivate a person twice) and
 *    clear `inactivity_notified_at`, which from then on means "this deactivation was announced".
 * 2. Revoke the sessions of everyone deactivated by inactivity and not yet notified, which
 *    includes earlier runs' leftovers, so a run that died between steps still ends in a state
 *    where nobody deactivated holds a working token.
 * 3. Claim each notification (set `inactivity_notified_at` where it is null), then send. Claiming
 *    first means two overlapping runs never both mail one person; a failed delivery releases the
 *    claim so the next run retries it (for {@link notifyRetryDays} days). The deactivation stands
 *    whatever happens to the email. Someone who signs in before the retry is `active` again and
 *    is not mailed.
 *
 * With `dryRun` it only logs whom it would deactivate and changes nothing.
 *
 * @example
 * const result = await deactivateInactiveAccounts(s, { scheduledAt, batchSize: 500, dryRun: false })
 */
export async function deactivateInactiveAccounts(
  s: Services,
  opts: { scheduledAt: Date; batchSize: number; dryRun: boolean },
): Promise<InactivityRunResult> {
  const { db } = s.database
  const now = s.clock.now()
  const from = new Date(opts.scheduledAt.getTime() - inactiveUntilDays * day)
  const until = new Date(opts.scheduledAt.getTime() - inactiveAfterDays * day)
  const inWindow = and(
    eq(users.role, 'member'),
    eq(users.status, 'active'),
    gt(users.lastOnlineAt, from),
    lte(users.lastOnlineAt, until),
    or(isNull(users.lastSignInAt), lt(users.lastSignInAt, new Date(now.getTime() - recentSignInMs))),
  )

  if (opts.dryRun) {
    const would = await db
      .select({ id: users.id, lastOnlineAt: users.lastOnlineAt })
      .from(users)
      .where(inWindow)
      .orderBy(asc(users.lastOnlineAt))
      .limit(opts.batchSize)
    s.log.info('inactivity.dry_run', {
      wouldDeactivate: would.length,
      users: would.map((u) => ({ id: u.id, lastOnlineAt: u.lastOnlineAt.toISOString() })),
    })
    return { dryRun: true, deactivated: would.length, notified: 0, notifyFailed: 0 }
  }

  const candidates = db
    .select({ id: users.id })
    .from(users)
    .where(inWindow)
    .orderBy(asc(users.lastOnlineAt))
    .limit(opts.batchSize)
  const deactivated = await db
    .update(users)
    .set({
      status: 'deactivated',
      deactivatedAt: now,
      deactivationReason: 'inactivity',
      inactivityNotifiedAt: null,
      updatedAt: now,
    })
    .where(and(inArray(users.id, candidates), eq(users.status, 'active')))
    .returning({ id: users.id })

  const unannounced = and(
    eq(users.status, 'deactivated'),
    eq(users.deactivationReason, 'inactivity'),
    isNull(users.inactivityNotifiedAt),
    gt(users.deactivatedAt, new Date(now.getTime() - notifyRetryDays * day)),
  )
  const pending = await db
    .select({ id: users.id })
    .from(users)
    .where(unannounced)
    .orderBy(asc(users.deactivatedAt))
    .limit(opts.batchSize)
  const affected = [...new Set([...deactivated.map((u) => u.id), ...pending.map((u) => u.id)])]

  // The newly deactivated hear of it on their devices too; the targets are read before the
  // sessions (and with them the targets) go, and sent to afterwards.
  const pushFacts = await loadChannelFacts(
    s,
    deactivated.map((u) => u.id),
  )
  if (affected.length > 0) {
    const live = await db
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(inArray(sessions.userId, affected), isNull(sessions.revokedAt)))
    await revokeSessions(
      s,
      live.map((r) => r.id),
      'inactivity',
    )
  }

  const pushItems = [...pushFacts.values()].flatMap((f) =>
    chooseChannels(f, now).push.map((target) => ({ target, notification: inactivityPush })),
  )
  if (pushItems.length) await queuePushRetry(s, await sendPushes(s, pushItems), 1)

  const claimed =
    pending.length === 0
      ? []
      : await db
          .update(users)
          .set({ inactivityNotifiedAt: now })
          .where(
            and(
              inArray(
                users.id,
                pending.map((u) => u.id),
              ),
              unannounced,
            ),
          )
          .returning({ id: users.id, email: users.emailDisplay })

  let notified = 0
  let notifyFailed = 0
  const queue = [...claimed]
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const user = next
      try {
        // sendMail itself skips @example.com addresses (seed and review accounts): they count
        // as notified, there is nobody to tell.
        await sendMail(s, { to: user.email, ...inactivityEmail() })
        notified++
      } catch (err) {
        notifyFailed++
        s.log.warn('inactivity.notify_failed', { userId: user.id, error: describeError(err) })
        // Release the claim (only ours: a later deactivation would have reset it anyway).
        await db
          .update(users)
          .set({ inactivityNotifiedAt: null })
          .where(and(eq(users.id, user.id), eq(users.inactivityNotifiedAt, now)))
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(mailConcurrency, queue.length) }, worker))

  const result = { dryRun: false, deactivated: deactivated.length, notified, notifyFailed }
  s.log.info('inactivity.run', { ...result })
  return result
}

/** The push an inactive member gets when their profile is hidden (with the email). */
export const inactivityPush = {
  title: 'Your profile is invisible 👻',
  body: 'You have been away a while, so we hid your profile. Open Rapport to show it again.',
  data: { type: 'deactivated', url: '/' },
}

/**
 * The one email an inactive member gets: what happened, that nothing was deleted, and how to
 * come back. Plain text plus a minimal HTML twin, no links or tracking, like the sign-in email.
 *
 * @example
 * await sendMail(s, { to: user.emailDisplay, ...inactivityEmail() })
 */
export function inactivityEmail(): { subject: string; text: string; html: string } {
  const subject = 'We deactivated your Rapport account'
  const lines = [
    'Hi,',
    '',
    `You haven't been on Rapport for over ${inactiveAfterDays} days, so we deactivated your account: ` +
      'your profile is hidden from other members and you have been signed out everywhere.',
    '',
    'Nothing has been deleted. Sign in again, with this email address, whenever you want to come back ' +
      'and your profile will be visible again.',
    '',
    '— Rapport',
  ]
  return { subject, text: lines.join('\n'), html: emailHtml(lines) }
}
