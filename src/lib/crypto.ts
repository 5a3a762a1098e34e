const encoder = new TextEncoder()

const toHex = (buf: ArrayBuffer) =>
  [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('')

function toBase64Url(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/**
 * An opaque random token (base64url), e.g. a refresh or export token: 32 bytes = 256 bits.
 *
 * @example
 * const refresh = randomToken() // "q3V…" (43 chars)
 */
export function randomToken(bytes = 32): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)))
}

/**
 * `length` uniformly random decimal digits from the CSPRNG. Rejection sampling avoids the
 * modulo bias of `byte % 10` (256 is not a multiple of 10).
 */
export function randomDigits(length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 250 && out.length < length) out += String(byte % 10)
    }
  }
  return out
}

/** SHA-256 of a string, hex. For high-entropy tokens stored at rest (a lookup key, not a password). */
export async function sha256Hex(value: string): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', encoder.encode(value)))
}

/** Imported keys (settled, never an import in flight: requests must not await each other's work). */
const hmacKeys = new Map<string, CryptoKey>()

/** HMAC-SHA-256 of `value` under `secret`, hex. Keys are imported once per secret per isolate. */
export async function hmacHex(secret: string, value: string): Promise<string> {
  let key = hmacKeys.get(secret)
  if (!key) {
    key = await crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    )
    hmacKeys.set(secret, key)
  }
  return toHex(await crypto.subtle.sign('HMAC', key, encoder.encode(value)))
}

/**
 * Constant-time equality of two strings of equal length (compare fixed-length hashes, never raw
 * secrets: Workers' timingSafeEqual is not constant-time with respect to length).
 */
export function timingSafeEqualStrings(a: string, b: string): boolean {
  const x = encoder.encode(a)
  const y = encoder.encode(b)
  if (x.byteLength !== y.byteLength) return false
  return crypto.subtle.timingSafeEqual(x, y)
}
