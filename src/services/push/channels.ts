import { sql } from 'drizzle-orm'
import type { Services } from '..'

/** Someone away this long gets an email as well as pushes: their devices may be gone. */
export const emailAlsoAfterMs = 8 * 24 * 3600_000

export interface PushTarget {
  userId: string
  sessionId: string
  kind: 'expo' | 'web'
  /** The Expo token, or the subscription's endpoint. */
  address: string
  p256dh: string | null
  auth: string | null
}

interface SessionFacts {
  client: 'web' | 'mobile'
  lastSeenAt: Date
  target: PushTarget | null
}

export interface ChannelFacts {
  userId: string
  lastOnlineAt: Date | null
  sessions: SessionFacts[]
}

/**
 * Which channels reach a member, by the rule of the app Rapport replaces, extended to browser
 * push: one push per distinct live target (targets are unique per address), and an email as
 * well when
 * - they have no push target at all,
 * - they were last online more than 8 days ago, or
 * - their newest web session is newer than every mobile session, and that browser has no
 *   push subscription (they moved to the web, where only email or browser push reaches them).
 *
 * @example
 * chooseChannels(facts, now) // { push: [target], email: false }
 */
export function chooseChannels(facts: ChannelFacts, now: Date): { push: PushTarget[]; email: boolean } {
  const push = facts.sessions.flatMap((x) => (x.target ? [x.target] : []))
  const newest = (client: 'web' | 'mobile') =>
    facts.sessions
      .filter((x) => x.client === client)
      .reduce<SessionFacts | null>((a, b) => (!a || b.lastSeenAt > a.lastSeenAt ? b : a), null)
  const web = newest('web')
  const mobile = newest('mobile')
  const webNewest = web !== null && (mobile === null || web.lastSeenAt > mobile.lastSeenAt)
  const email =
    push.length === 0 ||
    facts.lastOnlineAt === null ||
    now.getTime() - facts.lastOnlineAt.getTime() > emailAlsoAfterMs ||
    (webNewest && web.target === null)
  return { push, email }
}

/** Live sessions and their targets for each member, in one round trip. */
export async function loadChannelFacts(s: Services, userIds: string[]): Promise<Map<string, ChannelFacts>> {
  const out = new Map<string, ChannelFacts>()
  if (userIds.length === 0) return out
  const now = s.clock.now()
  const { rows } = await s.database.db.execute<{
    user_id: string
    last_online_at: string | null
    session_id: string | null
    client: 'web' | 'mobile' | null
    last_seen_at: string | null
    kind: 'expo' | 'web' | null
    address: string | null
    p256dh: string | null
    auth: string | null
  }>(sql`
    select u.id as user_id, u.last_online_at, x.id as session_id, x.client, x.last_seen_at,
      t.kind, t.address, t.p256dh, t.auth
    from users u
    left join sessions x on x.user_id = u.id and x.revoked_at is null and x.expires_at > ${now}
    left join push_targets t on t.session_id = x.id
    where u.id = any(${`{${[...new Set(userIds)].join(',')}}`}::uuid[])`)
  for (const r of rows) {
    let f = out.get(r.user_id)
    if (!f) {
      f = {
        userId: r.user_id,
        lastOnlineAt: r.last_online_at ? new Date(r.last_online_at) : null,
        sessions: [],
      }
      out.set(r.user_id, f)
    }
    if (!r.session_id) continue
    f.sessions.push({
      client: r.client!,
      lastSeenAt: new Date(r.last_seen_at!),
      target:
        r.kind && r.address
          ? {
              userId: r.user_id,
              sessionId: r.session_id,
              kind: r.kind,
              address: r.address,
              p256dh: r.p256dh,
              auth: r.auth,
            }
          : null,
    })
  }
  return out
}
