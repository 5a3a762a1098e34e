import { ApiError } from '../../lib/http/errors'
import { describeError } from '../../lib/log'
import { isIpLiteral } from '../../middleware/client-ip'
import type { Services } from '..'

/**
 * The sign-in IP check: is the client's address inside a range of a configured reputation list
 * (and not inside the operator's allow-list)? One indexed statement, one round trip. The check
 * fails open: past its time budget (`IP_REPUTATION_TIMEOUT_MS`) or on any error, sign-in goes
 * ahead — a slow list must never lock members out.
 */

/** The statement: GiST probe of the ranges, allow-list applied in the same round trip. */
const lookup = `select list from ip_reputation_ranges
  where range >>= $1::inet and not ($1::inet <<= any($2::cidr[])) limit 1`

export type IpVerdict =
  { blocked: true; list: string } | { blocked: false; reason: 'clean' | 'unchecked' | 'timeout' | 'error' }

/**
 * What the reputation lists say about `ip`.
 *
 * @example
 * const verdict = await checkIpReputation(s, '192.0.2.7') // { blocked: true, list: 'firehol_abusers_30d' }
 */
export async function checkIpReputation(s: Services, ip: string): Promise<IpVerdict> {
  const { lists, allow, timeoutMs } = s.config.ipReputation
  if (lists.length === 0 || !isIpLiteral(ip)) return { blocked: false, reason: 'unchecked' }
  const client = s.database.db.$client
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const rows = (await client.query(lookup, [ip, `{${allow.join(',')}}`], {
      fetchOptions: { signal },
    })) as { list: string }[]
    if (rows[0]) return { blocked: true, list: rows[0].list }
    return { blocked: false, reason: 'clean' }
  } catch (err) {
    const timedOut = signal.aborted
    s.log.warn(timedOut ? 'ip_reputation.timeout' : 'ip_reputation.failed', {
      timeoutMs,
      ...(timedOut ? {} : { error: describeError(err) }),
    })
    return { blocked: false, reason: timedOut ? 'timeout' : 'error' }
  }
}

/**
 * Refuse a sign-in from a listed address: 403 `ip_blocked`. Called before any sign-in code is
 * sent and before any social sign-in creates a session.
 *
 * @example
 * await assertSignInIpAllowed(s, c.get('clientIp'))
 */
export async function assertSignInIpAllowed(s: Services, ip: string): Promise<void> {
  const verdict = await checkIpReputation(s, ip)
  if (verdict.blocked) {
    s.log.info('auth.ip_blocked', { list: verdict.list })
    throw new ApiError('ip_blocked', 'Sign-in is not available from this network')
  }
}
