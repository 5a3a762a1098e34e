import { sql } from 'drizzle-orm'
import { ipReputationLists, ipReputationRanges } from '../../db/schema'
import { describeError } from '../../lib/log'
import { isIpLiteral } from '../../middleware/client-ip'
import type { Services } from '..'

/**
 * The IP reputation lists (FireHOL netsets, StopForumSpam ipsets and any list in their format:
 * `#` comments, one IPv4/IPv6 address or CIDR range per line), loaded into `ip_reputation_ranges`
 * for the per-request check in ./check.ts. Production fetches each list from its public URL;
 * local stacks and tests point the same setting at a local server of files in the repository.
 */

/** Rows per INSERT while loading a list. */
const chunkSize = 5000
/** How long one list download may take. */
const fetchTimeoutMs = 60_000

/**
 * The ranges of one list body, as `address/prefix` text (a bare address is a /32 or /128); lines
 * that are neither are skipped and counted.
 *
 * @example
 * parseIpList('# comment\n192.0.2.0/24\n2001:db8::1\nnot an ip') // { ranges: ['192.0.2.0/24', '2001:db8::1/128'], skipped: 1 }
 */
export function parseIpList(body: string): { ranges: string[]; skipped: number } {
  const ranges: string[] = []
  let skipped = 0
  for (const raw of body.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim()
    if (!line) continue
    const [address = '', prefix, extra] = line.split('/')
    const v6 = address.includes(':')
    const max = v6 ? 128 : 32
    const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1
    if (extra !== undefined || !isIpLiteral(address) || bits < 0 || bits > max) {
      skipped++
      continue
    }
    ranges.push(`${address.toLowerCase()}/${bits}`)
  }
  return { ranges, skipped }
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

export interface RefreshResult {
  name: string
  status: 'loaded' | 'unchanged' | 'failed'
  ranges?: number
}

/**
 * Refresh every configured list: download it, and when its content changed, replace its ranges
 * in one transaction (readers see the old or the new list, never a half-loaded one). A list that
 * fails to download keeps its previous ranges. Ranges of lists no longer configured are dropped.
 *
 * @example
 * const results = await refreshIpReputationLists(s) // [{ name: 'firehol_abusers_30d', status: 'loaded', ranges: 81234 }, …]
 */
export async function refreshIpReputationLists(s: Services): Promise<RefreshResult[]> {
  const lists = s.config.ipReputation.lists
  const results: RefreshResult[] = []
  const stored = await s.database.db.select().from(ipReputationLists)
  for (const list of lists) {
    let body: string
    try {
      const res = await fetch(list.url, { signal: AbortSignal.timeout(fetchTimeoutMs) })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      body = await res.text()
    } catch (err) {
      s.log.warn('ip_reputation.download_failed', { list: list.name, error: describeError(err) })
      results.push({ name: list.name, status: 'failed' })
      continue
    }
    const hash = await sha256Hex(body)
    const previous = stored.find((r) => r.name === list.name)
    if (previous && previous.contentHash === hash && previous.url === list.url) {
      results.push({ name: list.name, status: 'unchanged', ranges: previous.ranges })
      continue
    }
    const { ranges, skipped } = parseIpList(body)
    await s.database.transaction(async (tx) => {
      await tx.delete(ipReputationRanges).where(sql`${ipReputationRanges.list} = ${list.name}`)
      for (let i = 0; i < ranges.length; i += chunkSize) {
        const chunk = ranges.slice(i, i + chunkSize)
        // One array parameter per chunk (parsed ranges hold no commas, quotes or braces);
        // network() zeroes host bits, which a cidr value may not carry ("192.0.2.7/24").
        await tx.execute(sql`insert into ip_reputation_ranges (list, range)
          select ${list.name}, network(r::inet) from unnest(${`{${chunk.join(',')}}`}::text[]) r`)
      }
      await tx
        .insert(ipReputationLists)
        .values({
          name: list.name,
          url: list.url,
          contentHash: hash,
          ranges: ranges.length,
          refreshedAt: s.clock.now(),
        })
        .onConflictDoUpdate({
          target: ipReputationLists.name,
          set: { url: list.url, contentHash: hash, ranges: ranges.length, refreshedAt: s.clock.now() },
        })
    })
    s.log.info('ip_reputation.loaded', { list: list.name, ranges: ranges.length, skipped })
    results.push({ name: list.name, status: 'loaded', ranges: ranges.length })
  }
  const names = lists.map((l) => l.name)
  const dropped = stored.filter((r) => !names.includes(r.name)).map((r) => r.name)
  if (dropped.length > 0) {
    await s.database.transaction(async (tx) => {
      await tx.execute(
        sql`delete from ip_reputation_ranges where list in (${sql.join(
          dropped.map((d) => sql`${d}`),
          sql`, `,
        )})`,
      )
      await tx.execute(
        sql`delete from ip_reputation_lists where name in (${sql.join(
          dropped.map((d) => sql`${d}`),
          sql`, `,
        )})`,
      )
    })
  }
  return results
}
