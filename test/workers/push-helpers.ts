import { decodeJwt } from 'jose'
import { inject } from 'vitest'
import { type users } from '../../src/db/schema'
import { startSession } from '../../src/services/accounts/sessions'
import { services } from './helpers'

const s = services()

/** The session id inside an access token. */
export const sessionOf = (token: string) => String(decodeJwt(token).sid)

/** A token in Expo's format, unique per call (the fake keys its behaviour on the token). */
export const expoToken = () => `ExponentPushToken[${crypto.randomUUID().replaceAll('-', '').slice(0, 22)}]`

/** Another session for an existing user, of either client kind. */
export async function newSession(user: typeof users.$inferSelect, client: 'web' | 'mobile') {
  const issued = await startSession(s, user, { client, ip: '198.51.100.10' })
  return { token: issued.accessToken, sessionId: issued.sessionId }
}

const fake = () => inject('pushFakeUrl')

async function control(method: string, path: string, body?: unknown) {
  const res = await fetch(`${fake()}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`push fake answered ${res.status} to ${method} ${path}`)
  return res.status === 204 ? null : ((await res.json()) as unknown)
}

export interface ExpoCaught {
  to: string
  title?: string
  body?: string
  data?: Record<string, unknown>
  ticketId?: string
}

/** What the Expo stand-in received for `token`, oldest first. */
export async function expoInbox(token: string): Promise<ExpoCaught[]> {
  return (
    (await control('GET', `/__fake/expo/messages?to=${encodeURIComponent(token)}`)) as { data: ExpoCaught[] }
  ).data
}

/** Script the Expo stand-in for one token. */
export async function expoBehaviour(
  token: string,
  b: {
    ticket?: 'ok' | 'DeviceNotRegistered' | 'MessageRateExceeded'
    receipt?: 'ok' | 'DeviceNotRegistered' | 'MessageTooBig'
    fail?: { status: number; count: number; retryAfter?: number }
  },
) {
  await control('PUT', `/__fake/expo/tokens/${encodeURIComponent(token)}`, b)
}

export interface WebSubscription {
  id: string
  endpoint: string
  expirationTime: null
  keys: { p256dh: string; auth: string }
}

/** A browser subscription made with the server's VAPID key (what pushManager.subscribe returns). */
export async function browserSubscription(
  applicationServerKey = inject('vapidPublicKey'),
): Promise<WebSubscription> {
  return (await control('POST', '/__fake/web/subscriptions', { applicationServerKey })) as WebSubscription
}

export async function webBehaviour(
  id: string,
  b: { gone?: 404 | 410; fail?: { status: number; count: number; retryAfter?: number } },
) {
  await control('PUT', `/__fake/web/subscriptions/${id}`, b)
}

export interface WebCaught {
  payload: string
  ttl: number
  urgency: string | null
  vapid: { aud: string; sub: string; exp: number }
}

/** What the Web Push stand-in decrypted for one subscription, oldest first. */
export async function webInbox(id: string): Promise<WebCaught[]> {
  return ((await control('GET', `/__fake/web/subscriptions/${id}/messages`)) as { data: WebCaught[] }).data
}

/** Poll until `check` holds (queue consumers run asynchronously), or fail after `timeoutMs`. */
export async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 8_000) {
  const deadline = Date.now() + timeoutMs
  let value = await read()
  while (!check(value)) {
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`)
    await new Promise((r) => setTimeout(r, 50))
    value = await read()
  }
  return value
}
