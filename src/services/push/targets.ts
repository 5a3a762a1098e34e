import { and, eq, gt, inArray, isNull, ne } from 'drizzle-orm'
import { z } from '@hono/zod-openapi'
import { pushTargets, sessions } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import type { Services } from '..'
import { expoTokenPattern } from './expo'
import { base64UrlDecode } from './web-push'

/**
 * Registering, replacing and clearing a session's push target. A session registers for
 * itself only (a device knows its own token; another of the member's sessions is 403, another
 * member's is 404), an Expo token only on a mobile session and a browser subscription only on a
 * web session (409), so the channel rule can trust `sessions.client`.
 */

export const ExpoTokenSchema = z
  .string()
  .max(256)
  .regex(expoTokenPattern, 'must be an Expo push token (ExponentPushToken[…])')

const base64Url = (bytes: number) =>
  z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, 'must be base64url')
    .refine((v) => base64UrlDecode(v.replace(/=+$/, '')).length === bytes, `must encode ${bytes} bytes`)
    .transform((v) => v.replace(/=+$/, ''))

/** A browser `PushSubscription.toJSON()`. */
export const WebPushSubscriptionSchema = z.object({
  endpoint: z.url().max(1024),
  expirationTime: z.number().int().nullable().optional(),
  keys: z.object({
    p256dh: base64Url(65).refine((v) => base64UrlDecode(v)[0] === 4, 'must be an uncompressed P-256 point'),
    auth: base64Url(16),
  }),
})
export type WebPushSubscriptionInput = z.infer<typeof WebPushSubscriptionSchema>

export interface PushTargetView {
  sessionId: string
  kind: 'expo' | 'web'
  /** The Expo token, or the subscription's endpoint. */
  address: string
  updatedAt: string
}

/** The caller's own live session, or the right refusal for someone else's. */
async function ownSession(s: Services, caller: { userId: string; sessionId: string }, sessionId: string) {
  const [row] = await s.database.db
    .select({ id: sessions.id, userId: sessions.userId, client: sessions.client })
    .from(sessions)
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, s.clock.now())))
  if (!row || row.userId !== caller.userId) throw new ApiError('not_found', 'No such session')
  if (row.id !== caller.sessionId) {
    throw new ApiError('forbidden', 'A session registers only its own push target')
  }
  return row
}

/** Is `endpoint` a push service we agree to POST to? (Never an arbitrary URL: no SSRF.) */
export function allowedEndpoint(config: Services['config'], endpoint: string): boolean {
  const url = new URL(endpoint)
  if (url.protocol === 'http:') {
    return config.push.allowHttpEndpoints && (url.hostname === '127.0.0.1' || url.hostname === 'localhost')
  }
  if (url.protocol !== 'https:' || url.username || url.password) return false
  const host = url.hostname.toLowerCase()
  return (
    config.push.allowHttpEndpoints ||
    config.push.webEndpointHosts.some((h) => host === h || host.endsWith(`.${h}`))
  )
}

async function upsert(
  s: Services,
  userId: string,
  sessionId: string,
  values: { kind: 'expo' | 'web'; address: string; p256dh: string | null; auth: string | null },
): Promise<PushTargetView> {
  const now = s.clock.now()
  const { db } = s.database
  // One round trip, one transaction: the address leaves whichever session held it (one device,
  // one token), then this session's target is inserted or replaced.
  const [, rows] = await db.batch([
    db
      .delete(pushTargets)
      .where(and(eq(pushTargets.address, values.address), ne(pushTargets.sessionId, sessionId))),
    db
      .insert(pushTargets)
      .values({ sessionId, userId, ...values, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({
        target: pushTargets.sessionId,
        set: {
          kind: values.kind,
          address: values.address,
          p256dh: values.p256dh,
          auth: values.auth,
          updatedAt: now,
        },
      })
      .returning({ updatedAt: pushTargets.updatedAt }),
  ])
  return {
    sessionId,
    kind: values.kind,
    address: values.address,
    updatedAt: rows[0]!.updatedAt.toISOString(),
  }
}

/**
 * Store (or replace) the session's Expo push token.
 *
 * @example
 * await registerExpoToken(s, caller, caller.sessionId, 'ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]')
 */
export async function registerExpoToken(
  s: Services,
  caller: { userId: string; sessionId: string },
  sessionId: string,
  token: string,
): Promise<PushTargetView> {
  const session = await ownSession(s, caller, sessionId)
  if (session.client !== 'mobile') {
    throw new ApiError('conflict', 'Expo tokens are for mobile sessions')
  }
  return upsert(s, caller.userId, session.id, { kind: 'expo', address: token, p256dh: null, auth: null })
}

/** Store (or replace) the session's browser push subscription. */
export async function registerWebSubscription(
  s: Services,
  caller: { userId: string; sessionId: string },
  sessionId: string,
  sub: WebPushSubscriptionInput,
): Promise<PushTargetView> {
  const session = await ownSession(s, caller, sessionId)
  if (!s.config.push.vapid) throw new ApiError('conflict', 'Browser push is not configured on this server')
  if (session.client !== 'web') {
    throw new ApiError('conflict', 'Browser subscriptions are for web sessions')
  }
  if (!allowedEndpoint(s.config, sub.endpoint)) {
    throw new ApiError('validation_failed', 'The endpoint is not a known push service', {
      errors: [{ path: 'endpoint', message: 'must be a browser push service URL' }],
    })
  }
  return upsert(s, caller.userId, session.id, {
    kind: 'web',
    address: sub.endpoint,
    p256dh: sub.keys.p256dh,
    auth: sub.keys.auth,
  })
}

/** Clear the session's push target (idempotent: clearing nothing is fine). */
export async function clearPushTarget(
  s: Services,
  caller: { userId: string; sessionId: string },
  sessionId: string,
): Promise<void> {
  const session = await ownSession(s, caller, sessionId)
  await s.database.db.delete(pushTargets).where(eq(pushTargets.sessionId, session.id))
}

/** The session's current target, or null. */
export async function getPushTarget(
  s: Services,
  caller: { userId: string; sessionId: string },
  sessionId: string,
): Promise<PushTargetView | null> {
  await ownSession(s, caller, sessionId)
  const [row] = await s.database.db.select().from(pushTargets).where(eq(pushTargets.sessionId, sessionId))
  if (!row) return null
  return {
    sessionId,
    kind: row.kind as 'expo' | 'web',
    address: row.address,
    updatedAt: row.updatedAt.toISOString(),
  }
}

/** Forget targets the push services declared dead (DeviceNotRegistered, 404/410). */
export async function dropTargets(s: Services, addresses: string[]): Promise<number> {
  if (addresses.length === 0) return 0
  const gone = await s.database.db
    .delete(pushTargets)
    .where(inArray(pushTargets.address, [...new Set(addresses)]))
    .returning({ a: pushTargets.address })
  if (gone.length) s.log.info('push.targets_dropped', { count: gone.length })
  return gone.length
}
