import { sql } from 'drizzle-orm'
import { describeError } from '../../lib/log'
import { emailHtml } from '../../lib/http/html'
import type { Services } from '..'
import { settingsLink } from '../notifications/settings-links'
import { sendMail } from '../platform/mail'
import { chooseChannels, loadChannelFacts } from '../push/channels'
import { type PushItem, sendPushes } from '../push/deliver'
import { queuePushRetry } from '../push/queue'
import { hiddenPeer } from './inbox'

/**
 * Unread-message notifications. A member is notified about one box — intros or chats, each on
 * its own timer — when all of these hold:
 * - they are an active, onboarded, non-deleted member whose address is not at example.com;
 * - the box holds an unread conversation whose last message is under 10 days old, over
 *   10 minutes old, newer than their last online moment and newer than their last email about
 *   that box, with a member who is not gone or hidden from them (archived conversations never
 *   notify);
 * - they have not been online for 10 minutes;
 * - their frequency for that box (`intros_notification` / `chats_notification`) allows another
 *   notification since the last one: immediately 0, daily 1 day, every 3 days, weekly 7 days; never.
 *
 * Channels (services/push/channels.ts): one push per live push target, and an email as well
 * when they have none, have been away 8 days, or moved to a browser without push. An immediate
 * push already moved the box's stamp past the message it announced, so this run finds nothing
 * new for that state and never notifies twice.
 *
 * Idempotency: one statement picks due members (`FOR UPDATE SKIP LOCKED`, so overlapping runs
 * take different members) and stamps `<box>_notified_at` before any email leaves; a repeated run
 * finds no message newer than the stamp. A failed delivery puts the previous stamp back (only if
 * it is still ours), so the next run retries. `batchSize` bounds one run across both boxes;
 * what is left waits for the next minute.
 */

const kinds = ['intros', 'chats'] as const
type Kind = (typeof kinds)[number]

const minute = 60_000
/** A message must be this old, and the member away this long, before we email. */
export const notifyAfterMs = 10 * minute
/** Unread conversations older than this are not worth an email any more. */
export const notifyWindowMs = 10 * 24 * 60 * minute
const mailConcurrency = 4

const columns = {
  intros: { stamp: sql.raw('intros_notified_at'), frequency: sql.raw('intros_notification') },
  chats: { stamp: sql.raw('chats_notified_at'), frequency: sql.raw('chats_notification') },
} as const

export interface NotifyRunResult {
  claimed: number
  /** Emails delivered. */
  sent: number
  failed: number
  /** Pushes accepted by Expo or a browser push service. */
  pushed: number
}

/**
 * Claim up to `limit` members due an email about `kind`, stamping them at `now`.
 * Returns each with the stamp it had before (to restore when delivery fails).
 */
async function claim(s: Services, kind: Kind, now: Date, limit: number) {
  const { stamp, frequency } = columns[kind]
  const recentEnough = new Date(now.getTime() - notifyWindowMs)
  const oldEnough = new Date(now.getTime() - notifyAfterMs)
  const { rows } = await s.database.db.execute<{ user_id: string; prev: string | null }>(sql`
    with due as (
      select p.user_id, p.${stamp} as prev
      from profiles p join users u on u.id = p.user_id
      where u.role = 'member' and u.status = 'active' and u.deleted_at is null
        and p.onboarded_at is not null
        and split_part(u.email, '@', 2) <> 'example.com'
        and split_part(u.email, '@', 2) not like '%.example.com'
        and u.last_online_at < ${oldEnough}
        and p.${frequency} <> 'never'
        -- Candidates come from the partial unread index, not a scan of every profile.
        and p.user_id in (select owner_id from inbox_entries
          where unread_count > 0 and last_at > ${recentEnough} and last_at <= ${oldEnough})
        and (p.${stamp} is null or p.${stamp} <= ${now}::timestamptz - interval '1 second' * case p.${frequency}
          when 'daily' then 86400 when 'every-3-days' then 259200 when 'weekly' then 604800 else 0 end)
        and exists (
          select 1 from inbox_entries e
          where e.owner_id = p.user_id and e.box = ${kind} and e.unread_count > 0
            and e.last_at > ${recentEnough} and e.last_at <= ${oldEnough}
            and e.last_at > u.last_online_at
            and (p.${stamp} is null or e.last_at > p.${stamp})
            and not ${hiddenPeer(sql`e.owner_id`, sql`e.peer_id`)})
      order by u.last_online_at, p.user_id
      limit ${limit}
      for update of p skip locked
    )
    update profiles p set ${stamp} = ${now} from due where p.user_id = due.user_id
    returning p.user_id, due.prev`)
  return rows
}

/** Each claimed member's address and name, and who wrote to them (newest first). */
async function recipients(s: Services, kind: Kind, userIds: string[]) {
  const { rows } = await s.database.db.execute<{
    id: string
    email: string
    name: string | null
    peers: string[]
  }>(
    sql`
    select u.id, u.email_display as email, u.name,
      coalesce(array(
        select coalesce(w.name, 'Someone') from inbox_entries e join users w on w.id = e.peer_id
        where e.owner_id = u.id and e.box = ${kind} and e.unread_count > 0
          and not ${hiddenPeer(sql`e.owner_id`, sql`e.peer_id`)}
        order by e.last_at desc
      ), '{}') as peers
    from users u where u.id in (${sql.join(
      userIds.map((id) => sql`${id}::uuid`),
      sql`, `,
    )})`,
  )
  return rows
}

/**
 * One run over both boxes, at most `batchSize` emails.
 *
 * @example
 * const { sent } = await notifyUnread(s, { batchSize: 200 })
 */
export async function notifyUnread(s: Services, opts: { batchSize: number }): Promise<NotifyRunResult> {
  const now = s.clock.now()
  const result: NotifyRunResult = { claimed: 0, sent: 0, failed: 0, pushed: 0 }
  for (const kind of kinds) {
    const room = opts.batchSize - result.claimed
    if (room <= 0) break
    const claimed = await claim(s, kind, now, room)
    result.claimed += claimed.length
    if (claimed.length === 0) continue
    const prevOf = new Map(claimed.map((c) => [c.user_id, c.prev]))
    const ids = claimed.map((c) => c.user_id)
    const [members, channels] = await Promise.all([recipients(s, kind, ids), loadChannelFacts(s, ids)])

    // Every member's pushes in one go, so they share Expo requests (100 messages each).
    const items: PushItem[] = []
    const queue: typeof members = []
    const pushedTo = new Set<string>()
    for (const r of members) {
      const facts = channels.get(r.id)
      const chosen = facts ? chooseChannels(facts, now) : { push: [], email: true }
      const notification = unreadPush(kind, r.peers)
      for (const target of chosen.push) items.push({ target, notification })
      if (chosen.push.length) pushedTo.add(r.id)
      if (chosen.email) queue.push(r)
    }
    const pushes = await sendPushes(s, items)
    await queuePushRetry(s, pushes, 1)
    result.pushed += pushes.sent

    const worker = async () => {
      for (let r = queue.shift(); r; r = queue.shift()) {
        try {
          const link = await settingsLink(s, r.id, kind)
          await sendMail(s, { to: r.email, ...unreadEmail(s, kind, r.name, r.peers, link) })
          result.sent++
        } catch (err) {
          result.failed++
          s.log.warn('notify.send_failed', { userId: r.id, kind, error: describeError(err) })
          // A push reached them: retrying would push again for the same state.
          if (pushedTo.has(r.id)) continue
          const { stamp } = columns[kind]
          const prev = prevOf.get(r.id) ?? null
          await s.database.db.execute(
            sql`update profiles set ${stamp} = ${prev}::timestamptz where user_id = ${r.id} and ${stamp} = ${now}`,
          )
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(mailConcurrency, queue.length) }, worker))
  }
  s.log.info('notify.run', { ...result })
  return result
}

/** The push about unread messages in one box; opens that box. */
export function unreadPush(kind: Kind, peers: string[]) {
  const who = namesList(peers)
  return {
    title: 'You have a new message',
    body:
      kind === 'intros'
        ? `${who} sent you ${peers.length > 1 ? 'intros' : 'an intro'}`
        : `New messages from ${who}`,
    data: { type: 'unread', box: kind, url: `/inbox/${kind}` },
  }
}

function namesList(names: string[]): string {
  const shown = [...new Set(names)].slice(0, 3)
  const others = new Set(names).size - shown.length
  if (others > 0) return `${shown.join(', ')} and ${others} ${others === 1 ? 'other' : 'others'}`
  return shown.length > 1 ? `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}` : (shown[0] ?? 'Someone')
}

/**
 * The email about unread messages in one box: who wrote, a link to the app (the first CORS
 * origin, which is the web app's, when one is configured) and — when `settingsUrl` is given — a
 * one-click link to change this box's frequency, also offered to mail clients as RFC 8058
 * `List-Unsubscribe` (one-click POST to the same signed URL).
 *
 * @example
 * unreadEmail(s, 'intros', 'Sam', ['Alex'], link).text // 'Hi Sam, … Alex sent you an intro …'
 */
export function unreadEmail(
  s: Pick<Services, 'config'>,
  kind: Kind,
  name: string | null,
  peers: string[],
  settingsUrl?: string,
): { subject: string; text: string; html: string; headers?: Record<string, string> } {
  const who = namesList(peers)
  const appUrl = s.config.http.corsOrigins.find((o) => o !== '*' && /^https?:\/\//.test(o))
  const lines = [
    `Hi ${name ?? 'there'},`,
    '',
    kind === 'intros'
      ? `${who} sent you ${peers.length > 1 ? 'intros' : 'an intro'} on Rapport.`
      : `You have new messages from ${who} in your chats on Rapport.`,
    '',
    appUrl ? `Read and reply: ${appUrl}` : 'Open Rapport to read and reply.',
    '',
    `To change how often we email you about ${kind} (immediately, daily, every 3 days, weekly or never), ` +
      (settingsUrl ? `open ${settingsUrl} or ` : '') +
      'go to Settings → Notifications in the app.',
    '',
    '— Rapport',
  ]
  return {
    subject: 'You have a new message',
    text: lines.join('\n'),
    html: emailHtml(lines, [appUrl, settingsUrl]),
    ...(settingsUrl
      ? {
          headers: {
            'List-Unsubscribe': `<${settingsUrl}>`,
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          },
        }
      : {}),
  }
}
