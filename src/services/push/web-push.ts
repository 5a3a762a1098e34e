import { SignJWT } from 'jose'
import type { Config } from '../../config'

/**
 * Web Push with WebCrypto (ECDH P-256, HKDF-SHA-256, AES-128-GCM are all in workerd) and jose
 * for the VAPID JWT; no library: the npm `web-push` package needs Node's crypto, and the
 * WebCrypto ports add a dependency for ~100 lines whose every step RFC 8291 spells out.
 *
 * - RFC 8291 message encryption, `Content-Encoding: aes128gcm` (RFC 8188 record framing, one
 *   record): an ephemeral key pair per message, the browser's `p256dh` key and `auth` secret.
 * - RFC 8292 VAPID: `Authorization: vapid t=<ES256 JWT>, k=<public key>`, the JWT's `aud` is
 *   the push service's origin, `exp` 12 h ahead, `sub` the operator's contact.
 * - RFC 8030: `POST <endpoint>` with `TTL` and `Urgency`; 201 accepted, 404/410 the
 *   subscription is gone, 429 back off.
 */

const encoder = new TextEncoder()

export function base64UrlDecode(value: string): Uint8Array {
  const b64 = value.replace(/-/g, '+').replace(/_/g, '/')
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))
  return Uint8Array.from(bin, (c) => c.charCodeAt(0))
}

export function base64UrlEncode(bytes: Uint8Array): string {
  let bin = ''
  for (const b of bytes) bin += String.fromCharCode(b)
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, bytes: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits'])
  return new Uint8Array(
    await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, key, bytes * 8),
  )
}

/** Record size announced in the header; one record holds the whole (≤ 4 KiB) message. */
const recordSize = 4096

/**
 * Encrypt `plaintext` for one subscription (RFC 8291 §3–4). The result is the request body:
 * salt(16) ‖ rs(4) ‖ idlen(1) ‖ keyid(65: the ephemeral public key) ‖ ciphertext.
 */
export async function encryptWebPush(
  plaintext: Uint8Array,
  keys: { p256dh: string; auth: string },
): Promise<Uint8Array> {
  const uaPublic = base64UrlDecode(keys.p256dh)
  const authSecret = base64UrlDecode(keys.auth)
  const uaKey = await crypto.subtle.importKey(
    'raw',
    uaPublic,
    { name: 'ECDH', namedCurve: 'P-256' },
    false,
    [],
  )
  const ephemeral = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, [
    'deriveBits',
  ])) as CryptoKeyPair
  const asPublic = new Uint8Array((await crypto.subtle.exportKey('raw', ephemeral.publicKey)) as ArrayBuffer)
  const shared = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: 'ECDH', public: uaKey } as unknown as SubtleCryptoDeriveKeyAlgorithm,
      ephemeral.privateKey,
      256,
    ),
  )
  const ikm = await hkdf(
    authSecret,
    shared,
    concat(encoder.encode('WebPush: info\0'), uaPublic, asPublic),
    32,
  )
  const salt = crypto.getRandomValues(new Uint8Array(16))
  const cek = await hkdf(salt, ikm, encoder.encode('Content-Encoding: aes128gcm\0'), 16)
  const nonce = await hkdf(salt, ikm, encoder.encode('Content-Encoding: nonce\0'), 12)
  const aes = await crypto.subtle.importKey('raw', cek, 'AES-GCM', false, ['encrypt'])
  // 0x02: the padding delimiter of the last (here the only) record.
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce }, aes, concat(plaintext, new Uint8Array([2]))),
  )
  const header = new Uint8Array(21)
  new DataView(header.buffer).setUint32(16, recordSize)
  header.set(salt, 0)
  header[20] = asPublic.length
  return concat(header, asPublic, ciphertext)
}

type Vapid = NonNullable<Config['push']['vapid']>

/** The `Authorization` header value for a push service origin (RFC 8292 §3). */
export async function vapidAuthorization(vapid: Vapid, endpoint: string, now: Date): Promise<string> {
  const pub = base64UrlDecode(vapid.publicKey)
  const key = await crypto.subtle.importKey(
    'jwk',
    {
      kty: 'EC',
      crv: 'P-256',
      x: base64UrlEncode(pub.slice(1, 33)),
      y: base64UrlEncode(pub.slice(33, 65)),
      d: vapid.privateKey,
    },
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  )
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .setAudience(new URL(endpoint).origin)
    .setExpirationTime(Math.floor(now.getTime() / 1000) + 12 * 3600)
    .setSubject(vapid.subject)
    .sign(key)
  return `vapid t=${jwt}, k=${vapid.publicKey}`
}

export interface WebPushResult {
  status: number
  /** 404/410: the browser unsubscribed or the subscription expired — delete it. */
  gone: boolean
  /** 429, 5xx or a network failure: the same request may succeed later. */
  retryable: boolean
  retryAfterSeconds?: number
}

/**
 * Encrypt and POST one message to a subscription's push service.
 *
 * @example
 * const r = await sendWebPush(s.config.push.vapid!, sub, JSON.stringify({ title, body }), { now })
 * if (r.gone) await dropTargets(s, [sub.endpoint])
 */
export async function sendWebPush(
  vapid: Vapid,
  subscription: { endpoint: string; p256dh: string; auth: string },
  payload: string,
  opts: { now: Date; ttlSeconds?: number; urgency?: 'very-low' | 'low' | 'normal' | 'high' },
): Promise<WebPushResult> {
  const body = await encryptWebPush(encoder.encode(payload), subscription)
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-encoding': 'aes128gcm',
    ttl: String(opts.ttlSeconds ?? 86_400),
    urgency: opts.urgency ?? 'normal',
    authorization: await vapidAuthorization(vapid, subscription.endpoint, opts.now),
  }
  let res: Response
  try {
    res = await fetch(subscription.endpoint, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(15_000),
    })
  } catch {
    return { status: 0, gone: false, retryable: true }
  }
  await res.body?.cancel()
  const retryAfter = Number(res.headers.get('retry-after'))
  return {
    status: res.status,
    gone: res.status === 404 || res.status === 410,
    retryable: res.status === 429 || res.status >= 500,
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
  }
}
