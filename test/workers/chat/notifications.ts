import { env } from 'cloudflare:test'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { notifyUnreadJob } from '../../../cron/notify-unread'
import { notifyUnread, unreadEmail } from '../../../src/services/chat/notifications'
import { schedule } from '../../../cron/registry'
import { inboxEntries, profiles, skips, users } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import { fixedClock } from '../../../src/lib/clock'
import { createServices } from '../../../src/services'
import { member } from '../fixtures'
import { envWith, mailbox } from '../helpers'

const minute = 60_000
const day = 24 * 60 * minute
// The clock is controlled but starts at the real time: other test files share the database.
const now = new Date(Math.floor(Date.now() / 1000) * 1000)
const ago = (ms: number) => new Date(now.getTime() - ms)
const servicesAt = (at = now, e: Env = env as Env) => createServices(e, { clock: fixedClock(at) })
const s = servicesAt()

type Frequency = 'immediately' | 'daily' | 'every-3-days' | 'weekly' | 'never'

interface Setup {
  box?: 'intros' | 'chats'
  messageAgo?: number
  lastOnlineAgo?: number
  unread?: number
  frequency?: Frequency
  notifiedAgo?: number | null
  domain?: string
  peerName?: string
}

/** A member with one unread conversation in `box`, last online `lastOnlineAgo` before `now`. */
async function recipient(f: Setup = {}) {
  const box = f.box ?? 'chats'
  const email = `notify-${crypto.randomUUID().slice(0, 12)}@${f.domain ?? 'rapport.test'}`
  const setting = box === 'intros' ? 'introsNotification' : 'chatsNotification'
  const stamp = box === 'intros' ? 'introsNotifiedAt' : 'chatsNotifiedAt'
  const me = await member({
    name: 'Jo',
    user: { email, emailDisplay: email, lastOnlineAt: ago(f.lastOnlineAgo ?? 60 * minute) },
    profile: {
      [setting]: f.frequency ?? 'immediately',
      [stamp]: f.notifiedAgo == null ? null : ago(f.notifiedAgo),
    },
  })
  const peer = await member({ name: f.peerName ?? 'Alex' })
  await s.database.db.insert(inboxEntries).values({
    ownerId: me.id,
    peerId: peer.id,
    box,
    lastSeq: 1,
    lastSenderId: peer.id,
    lastBody: 'hi',
    lastAt: ago(f.messageAgo ?? 20 * minute),
    unreadCount: f.unread ?? 1,
  })
  return { me, peer, email }
}

const sent = async (email: string) => (await mailbox(email)).length
const stampOf = async (userId: string) =>
  (await s.database.db.select().from(profiles).where(eq(profiles.userId, userId)))[0]!

describe('unread-message notifications', () => {
  it('emails once about a due unread chat, naming the sender and how to change the frequency', async () => {
    const { me, email } = await recipient({ peerName: 'Robin' })
    expect((await notifyUnread(s, { batchSize: 1000 })).sent).toBeGreaterThanOrEqual(1)
    const [mail, ...more] = await mailbox(email)
    expect(more).toEqual([])
    expect(mail!.subject).toBe('You have a new message')
    expect(mail!.text).toContain('new messages from Robin in your chats')
    expect(mail!.text).toContain('Settings → Notifications')
    expect(mail!.text).toMatch(/immediately, daily, every 3 days, weekly or never/)
    expect((await stampOf(me.id)).chatsNotifiedAt?.getTime()).toBe(now.getTime())

    // The same unread state never mails twice, even much later.
    await notifyUnread(servicesAt(new Date(now.getTime() + 5 * minute)), { batchSize: 1000 })
    expect(await sent(email)).toBe(1)
  })

  it('names intros as intros', async () => {
    const { email } = await recipient({ box: 'intros', peerName: 'Sasha' })
    await notifyUnread(s, { batchSize: 1000 })
    expect((await mailbox(email))[0]!.text).toContain('Sasha sent you an intro')
  })

  it.each([
    ['a message under 10 minutes old', { messageAgo: 9 * minute }],
    ['a member online in the last 10 minutes', { lastOnlineAgo: 2 * minute }],
    ['a message from before they were last online', { messageAgo: 30 * minute, lastOnlineAgo: 15 * minute }],
    ['a message over 10 days old', { messageAgo: 10 * day + minute, lastOnlineAgo: 11 * day }],
    ['nothing unread', { unread: 0 }],
    ['an @example.com address', { domain: 'example.com' }],
    ['a subdomain of example.com', { domain: 'mail.example.com' }],
    ['frequency never', { frequency: 'never' as const }],
    ['a message older than the last notification', { notifiedAgo: 15 * minute }],
  ] as [string, Setup][])('does not email about %s', async (_name, setup) => {
    const { me, email } = await recipient(setup)
    await notifyUnread(s, { batchSize: 1000 })
    expect(await sent(email)).toBe(0)
    expect((await stampOf(me.id)).chatsNotifiedAt?.getTime() ?? null).toBe(
      setup.notifiedAgo ? ago(setup.notifiedAgo).getTime() : null,
    )
  })

  it('sends a message that was too fresh once it is 10 minutes old', async () => {
    const { email } = await recipient({ messageAgo: 5 * minute })
    await notifyUnread(s, { batchSize: 1000 })
    expect(await sent(email)).toBe(0)
    await notifyUnread(servicesAt(new Date(now.getTime() + 6 * minute)), { batchSize: 1000 })
    expect(await sent(email)).toBe(1)
  })

  it.each([
    ['immediately', 0],
    ['daily', 1 * day],
    ['every-3-days', 3 * day],
    ['weekly', 7 * day],
  ] as const)('honours %s: not before the delay since the last email, then yes', async (frequency, delay) => {
    // Emailed longer ago than the delay, about something older: the newer message goes out.
    const due = await recipient({ frequency, notifiedAgo: delay + 30 * minute, messageAgo: 20 * minute })
    // Emailed just inside the delay: the newer message waits (immediately has no such window).
    const early =
      delay > 0 ? await recipient({ frequency, notifiedAgo: delay - minute, messageAgo: 20 * minute }) : null
    await notifyUnread(s, { batchSize: 1000 })
    expect(await sent(due.email)).toBe(1)
    if (early) expect(await sent(early.email)).toBe(0)
  })

  it('keeps separate timers for intros and chats', async () => {
    const { me, email } = await recipient({ box: 'chats', frequency: 'daily' })
    // An intros email went out a minute ago; the chats timer is untouched by it.
    await s.database.db
      .update(profiles)
      .set({ introsNotification: 'daily', introsNotifiedAt: ago(minute) })
      .where(eq(profiles.userId, me.id))
    await notifyUnread(s, { batchSize: 1000 })
    expect(await sent(email)).toBe(1)
    const row = await stampOf(me.id)
    expect(row.chatsNotifiedAt?.getTime()).toBe(now.getTime())
    expect(row.introsNotifiedAt?.getTime()).toBe(ago(minute).getTime())
  })

  it('skips archived conversations and inactive members', async () => {
    const skipped = await recipient()
    await s.database.db.insert(skips).values({ subjectId: skipped.me.id, objectId: skipped.peer.id })
    const deactivated = await recipient()
    await s.database.db.update(users).set({ status: 'deactivated' }).where(eq(users.id, deactivated.me.id))
    const deleted = await recipient()
    await s.database.db.update(users).set({ deletedAt: now }).where(eq(users.id, deleted.me.id))
    await notifyUnread(s, { batchSize: 1000 })
    for (const r of [skipped, deactivated, deleted]) expect(await sent(r.email)).toBe(0)
  })

  it('is bounded per run; later runs drain the rest, each member once', async () => {
    // Older than anything other test files leave behind, so these come first.
    const due = [
      await recipient({ lastOnlineAgo: 9 * day, messageAgo: 8 * day }),
      await recipient({ lastOnlineAgo: 9 * day, messageAgo: 8 * day }),
      await recipient({ lastOnlineAgo: 9 * day, messageAgo: 8 * day }),
    ]
    const first = await notifyUnread(s, { batchSize: 2 })
    expect(first.claimed).toBe(2)
    expect((await Promise.all(due.map((d) => sent(d.email)))).reduce((a, b) => a + b)).toBe(2)
    const second = await notifyUnread(s, { batchSize: 2 })
    expect(second.claimed).toBeGreaterThanOrEqual(1)
    expect(await Promise.all(due.map((d) => sent(d.email)))).toEqual([1, 1, 1])
  })

  it('restores the stamp when delivery fails, so a later run retries', async () => {
    const { me, email } = await recipient({ notifiedAgo: null })
    const broken = servicesAt(now, envWith({ SMTP_PORT: '1' }))
    const result = await notifyUnread(broken, { batchSize: 1000 })
    expect(result.failed).toBeGreaterThanOrEqual(1)
    expect((await stampOf(me.id)).chatsNotifiedAt).toBeNull()
    await notifyUnread(s, { batchSize: 1000 })
    expect(await sent(email)).toBe(1)
  })

  it('runs every minute from the cron schedule', () => {
    expect(schedule['* * * * *']).toContain(notifyUnreadJob)
  })

  it('escapes names in the HTML part', () => {
    const mail = unreadEmail(s, 'chats', 'Jo', ['<b>Eve</b>'])
    expect(mail.html).toContain('&#60;b&#62;Eve&#60;/b&#62;')
    expect(mail.html).not.toContain('<b>Eve')
  })
})
