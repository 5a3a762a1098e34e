import { env } from 'cloudflare:test'
import { sql } from 'drizzle-orm'
import { inject } from 'vitest'
import { describe, expect, it } from 'vitest'
import type { PushQueueMessage } from '../../../src/services/push/queue'
import { services } from '../helpers'
import { eventually, expoToken } from '../push-helpers'

const s = services()

/** `n` active, onboarded members with intros "immediately", one mobile session and token each, in a few statements. */
async function recipientsWithTokens(n: number) {
  const ids = Array.from({ length: n }, () => crypto.randomUUID())
  const tokens = ids.map(() => expoToken())
  const tag = crypto.randomUUID().slice(0, 8)
  const list = sql.raw(`'{${ids.join(',')}}'::uuid[]`)
  await s.database.db.execute(sql`
    insert into users (id, email, email_display, name, status)
    select id, 'burst-' || id || '@example.org', 'burst-' || id || '@example.org', 'Burst', 'active'
    from unnest(${list}) as t(id)`)
  await s.database.db.execute(sql`
    insert into profiles (user_id, url_slug, date_of_birth, place_id, latitude, longitude, gender,
      seeking_genders, onboarded_at, intros_notification)
    select t.id, 'burst-' || ${tag} || '-' || t.ord, '1994-05-17', p.id, p.latitude, p.longitude, 'woman',
      array['man']::gender[], now(), 'immediately'
    from unnest(${list}) with ordinality as t(id, ord),
      (select id, latitude, longitude from places order by population desc limit 1) p`)
  await s.database.db.execute(sql`
    with made as (
      insert into sessions (user_id, client, ip, expires_at)
      select id, 'mobile', '127.0.0.1', now() + interval '1 day' from unnest(${list}) as t(id)
      returning id, user_id
    )
    insert into push_targets (session_id, user_id, kind, address)
    select made.id, made.user_id, 'expo', t.token
    from made join unnest(${list}, ${sql.raw(`'{${tokens.join(',')}}'::text[]`)}) as t(id, token)
      on t.id = made.user_id`)
  return ids.map((id, i) => ({ id, token: tokens[i]! }))
}

describe('a burst of pushes', () => {
  it('1,000 message events queued at once leave in at most 10 Expo requests', async () => {
    const [sender] = await recipientsWithTokens(1)
    const members = await recipientsWithTokens(1000)
    const at = new Date().toISOString()
    const events: PushQueueMessage[] = members.map((m) => ({
      type: 'message',
      recipientId: m.id,
      senderId: sender!.id,
      box: 'intros',
      body: 'Hello there',
      voice: false,
      at,
    }))
    // What 1,000 Conversations do within a moment: each queues one event.
    for (let i = 0; i < events.length; i += 100) {
      await env.PUSH.sendBatch(events.slice(i, i + 100).map((body) => ({ body })))
    }
    const mine = new Set(members.map((m) => m.token))
    const requests = await eventually(
      async () => {
        const res = await fetch(`${inject('pushFakeUrl')}/__fake/expo/requests`)
        const { data } = (await res.json()) as { data: { messages: number; status: number; to: string[] }[] }
        return data.filter((r) => r.to.some((t) => mine.has(t)))
      },
      (rs) => rs.reduce((n, r) => n + r.to.filter((t) => mine.has(t)).length, 0) >= 1000,
      30_000,
    )
    expect(requests.every((r) => r.status === 200)).toBe(true)
    expect(requests.length).toBeLessThanOrEqual(10)
  }, 40_000)
})
