import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../types'

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const ipv6 = /^[0-9a-f:.]{2,45}$/i

/** True for a syntactically valid IPv4 or IPv6 literal (IPv6 loosely: hex, colons, dots). */
export function isIpLiteral(value: string): boolean {
  return ipv4.test(value) || (value.includes(':') && ipv6.test(value))
}

/**
 * The client's IP address as Rapport trusts it.
 *
 * Cloudflare sets `CF-Connecting-IP` to the address that connected to its edge and clients cannot
 * forge it. `X-Forwarded-For` is client-controlled — Cloudflare only *appends* to it — so it is
 * read only when `trustedProxyHops` > 0, i.e. when the operator runs that many proxies of their
 * own in front of Cloudflare. Then the entry that many places left of the rightmost one (the
 * address Cloudflare itself saw) is the client. Anything unparseable falls back to
 * `CF-Connecting-IP`.
 *
 * @example
 * // trustedProxyHops = 1, XFF "203.0.113.7, 198.51.100.2" → "203.0.113.7"
 */
export function resolveClientIp(headers: Headers, trustedProxyHops: number): string {
  const connecting = headers.get('cf-connecting-ip')?.trim()
  const direct = connecting && isIpLiteral(connecting) ? connecting : 'unknown'
  if (trustedProxyHops <= 0) return direct
  const chain = (headers.get('x-forwarded-for') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const candidate = chain[chain.length - 1 - trustedProxyHops]
  return candidate && isIpLiteral(candidate) ? candidate : direct
}

export const clientIp = createMiddleware<AppEnv>(async (c, next) => {
  c.set('clientIp', resolveClientIp(c.req.raw.headers, c.get('services').config.http.trustedProxyHops))
  await next()
})
