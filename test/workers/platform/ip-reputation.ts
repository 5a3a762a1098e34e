import { createScheduledController, env } from 'cloudflare:test'
import { sql } from 'drizzle-orm'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { ipReputationLists, signInChallenges } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import worker from '../../../src/index'
import { createServices } from '../../../src/services'
import { checkIpReputation } from '../../../src/services/ip-reputation/check'
import { parseIpList } from '../../../src/services/ip-reputation/lists'
import { post, uniqueEmail } from '../auth-helpers'
import { envWith, mailbox, problem, services } from '../helpers'

declare module 'vitest' {
  export interface ProvidedContext {
    ipListsUrl: string
    ipListsSetting: string
  }
}

const s = services()
const db = s.database.db
const listsUrl = inject('ipListsUrl')
const originalAbusers = await (await fetch(`${listsUrl}/firehol_abusers_30d.netset`)).text()

async function refresh() {
  await worker.scheduled(
    createScheduledController({ cron: '29 */4 * * *', scheduledTime: Date.now() }),
    env as Env,
  )
}
const replaceList = (file: string, body: string) => fetch(`${listsUrl}/${file}`, { method: 'PUT', body })
const requestCode = (ip: string, email = uniqueEmail('gmail.com')) =>
  post('/api/v1/auth/otp', { email }, { 'CF-Connecting-IP': ip })

afterAll(async () => {
  await replaceList('firehol_abusers_30d.netset', originalAbusers)
})

describe('parsing a list', () => {
  it('reads addresses and CIDR ranges of both families, skipping comments and junk', () => {
    const body =
      '# FireHOL\n192.0.2.0/24\n 198.51.100.7 # inline\n2001:DB8::/32\n2001:db8::1\n\n10.0.0.0/33\nhello\n1.2.3.4/8/9\n'
    expect(parseIpList(body)).toEqual({
      ranges: ['192.0.2.0/24', '198.51.100.7/32', '2001:db8::/32', '2001:db8::1/128'],
      skipped: 3,
    })
  })
})

describe('the refresh cron', () => {
  it('loads every configured list, and leaves unchanged lists alone', async () => {
    await refresh()
    const lists = await db.select().from(ipReputationLists).orderBy(ipReputationLists.name)
    expect(lists.map((l) => [l.name, l.ranges])).toEqual([
      ['firehol_abusers_30d', 3],
      ['firehol_anonymous', 2],
      ['stopforumspam_365d', 2],
    ])
    const loadedAt = lists.map((l) => l.refreshedAt.getTime())
    await refresh()
    const again = await db.select().from(ipReputationLists).orderBy(ipReputationLists.name)
    expect(again.map((l) => l.refreshedAt.getTime())).toEqual(loadedAt)
  })

  it('replaces a changed list, and keeps a list whose download fails', async () => {
    await refresh()
    await replaceList('firehol_abusers_30d.netset', '# changed\n192.0.2.99\n')
    await refresh()
    expect((await checkIpReputation(s, '192.0.2.77')).blocked).toBe(false)
    expect(await checkIpReputation(s, '192.0.2.99')).toEqual({ blocked: true, list: 'firehol_abusers_30d' })
    await replaceList('firehol_abusers_30d.netset', originalAbusers)
    await refresh()

    const broken = inject('ipListsSetting').replace('firehol_anonymous.netset', 'gone.netset')
    const failing = createServices(envWith({ IP_REPUTATION_LISTS: broken }))
    const { refreshIpReputationLists } = await import('../../../src/services/ip-reputation/lists')
    const results = await refreshIpReputationLists(failing)
    expect(results.find((r) => r.name === 'firehol_anonymous')?.status).toBe('failed')
    expect((await checkIpReputation(s, '192.0.2.200')).blocked).toBe(true)
  })
})

describe('the sign-in check', () => {
  it('refuses listed IPv4 addresses and ranges with 403 ip_blocked and sends no code', async () => {
    await refresh()
    for (const ip of ['192.0.2.3', '192.0.2.77', '192.0.2.50', '192.0.2.200']) {
      const email = uniqueEmail('gmail.com')
      const res = await requestCode(ip, email)
      expect(res.status).toBe(403)
      expect((await problem(res)).code).toBe('ip_blocked')
      expect(await mailbox(email)).toHaveLength(0)
      const [count] = await db
        .select({ n: sql<number>`count(*)::int` })
        .from(signInChallenges)
        .where(sql`${signInChallenges.email} = ${email}`)
      expect(count!.n).toBe(0)
    }
  })

  it('refuses listed IPv6 ranges and addresses', async () => {
    await refresh()
    for (const ip of ['3fff:100:abcd::1', '3fff:200:0:1::99', '3fff:300::7']) {
      const res = await requestCode(ip)
      expect(res.status).toBe(403)
      expect((await problem(res)).code).toBe('ip_blocked')
    }
  })

  it('lets unlisted addresses of both families through', async () => {
    await refresh()
    for (const ip of ['192.0.2.16', '192.0.2.78', '3fff:200:0:2::1', '3fff:300::8']) {
      expect((await requestCode(ip)).status).toBe(201)
    }
    expect(await checkIpReputation(s, '192.0.2.16')).toEqual({ blocked: false, reason: 'clean' })
  })

  it("never refuses the operator's allow-list", async () => {
    await refresh()
    const allowing = createServices(envWith({ IP_REPUTATION_ALLOW: '192.0.2.0/29,3fff:300::7' }))
    expect(await checkIpReputation(allowing, '192.0.2.5')).toEqual({ blocked: false, reason: 'clean' })
    expect(await checkIpReputation(allowing, '3fff:300::7')).toEqual({ blocked: false, reason: 'clean' })
    expect((await checkIpReputation(allowing, '192.0.2.9')).blocked).toBe(true)
  })

  it('fails open when the lookup takes longer than its budget', async () => {
    await refresh()
    // An exclusive lock makes every read of the ranges wait until the transaction ends.
    await s.database.transaction(async (tx) => {
      await tx.execute(sql`lock table ip_reputation_ranges in access exclusive mode`)
      const tight = createServices(envWith({ IP_REPUTATION_TIMEOUT_MS: '20' }))
      const started = Date.now()
      expect(await checkIpReputation(tight, '192.0.2.4')).toEqual({ blocked: false, reason: 'timeout' })
      expect(Date.now() - started).toBeLessThan(1000)
      // The Worker's own budget (3 s in tests) runs out the same way: the code is sent.
      expect((await requestCode('192.0.2.6')).status).toBe(201)
    })
    expect((await checkIpReputation(s, '192.0.2.4')).blocked).toBe(true)
  })

  it('does not check when no list is configured or the address is not an IP', async () => {
    const none = createServices(envWith({ IP_REPUTATION_LISTS: '' }))
    expect(await checkIpReputation(none, '192.0.2.3')).toEqual({ blocked: false, reason: 'unchecked' })
    expect(await checkIpReputation(s, 'unknown')).toEqual({ blocked: false, reason: 'unchecked' })
  })
})
