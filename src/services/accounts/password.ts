import { argon2idAsync } from '@noble/hashes/argon2.js'

/**
 * Operator passwords: hashing, verification and strength rules.
 *
 * The KDF is Argon2id (RFC 9106) from `@noble/hashes`, pure JavaScript, so the one module runs in
 * the Worker (which verifies) and in Node (the bootstrap command, which hashes). The options:
 *
 * - WebCrypto PBKDF2 is native and fast, but Cloudflare refuses more than 100,000 iterations per
 *   `deriveBits` call (workerd#1346; local workerd does not enforce it, so tests would not notice),
 *   which is a sixth of OWASP's 600,000 for PBKDF2-SHA256, and PBKDF2 is cheap on GPUs anyway.
 * - WebAssembly builds (hash-wasm) cannot load: Workers forbid compiling Wasm at run time
 *   ("Wasm code generation disallowed by embedder"), and hash-wasm compiles its embedded modules.
 * - noble's scrypt at OWASP's parameters (N=2^17, r=8: 128 MiB) does not fit an isolate's 128 MB,
 *   and ran slower in workerd than Argon2id even at 16 MiB (about 1 s).
 *
 * Argon2id at OWASP's first configuration (19 MiB, 2 passes, 1 lane) is memory-hard, adds about
 * 8 KiB (gzip) to the bundle, and costs about 0.3–0.7 s of CPU per hash in workerd (printed by
 * test/workers/operators/operators.ts). Only operators have passwords and they sign in rarely, so that
 * cost is affordable; attempts are rate limited before the KDF runs.
 *
 * Hashes are stored as PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), the format
 * the Argon2 specification's reference code and every argon2 library read, carrying their own parameters:
 * raising {@link argon2Params} later leaves old hashes verifiable, and {@link needsRehash} tells
 * the login to upgrade them.
 */

/** Current Argon2id cost: memory in KiB, passes, lanes. Raise here; stored hashes keep theirs. */
export const argon2Params = { m: 19_456, t: 2, p: 1 } as const

const saltBytes = 16
const hashBytes = 32
const argon2Version = 19 // 0x13, the only version RFC 9106 defines

/**
 * Upper bounds for parameters read from a stored hash. Hashes come from our own database, but a
 * corrupted or planted row must not make one request allocate gigabytes or spin for minutes.
 */
const parseLimits = { m: 65_536, t: 16, p: 4, saltMin: 8, saltMax: 64, hashMin: 16, hashMax: 64 }

/**
 * Hashes in flight per isolate. Each holds `m` KiB (19 MiB) until it finishes, and a Worker isolate
 * has 128 MB for everything, so a burst of logins landing on one isolate must not be able to run
 * it out of memory. Beyond the cap the caller gets {@link PasswordHasherBusyError} (a 503 to
 * retry) rather than a queue: waking a queued request from another request's promise is exactly
 * what Workers warn against.
 */
const maxInFlight = 3
let inFlight = 0

/** Thrown when this isolate is already running {@link maxInFlight} hashes; retry shortly. */
export class PasswordHasherBusyError extends Error {
  constructor() {
    super('Too many password hashes in progress; retry shortly')
    this.name = 'PasswordHasherBusyError'
  }
}

interface ParsedHash {
  m: number
  t: number
  p: number
  salt: Uint8Array
  hash: Uint8Array
}

const encoder = new TextEncoder()

// NIST SP 800-63B §5.1.1.2: normalise Unicode before hashing, so the same password typed on two
// keyboards (composed vs decomposed accents, full-width digits) verifies.
const passwordBytes = (password: string) => encoder.encode(password.normalize('NFKC'))

// PHC strings use standard base64 without padding.
function toB64(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/=+$/, '')
}

function fromB64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]+$/.test(text)) return null
  try {
    const binary = atob(text + '='.repeat((4 - (text.length % 4)) % 4))
    return Uint8Array.from(binary, (ch) => ch.charCodeAt(0))
  } catch {
    return null
  }
}

async function derive(password: string, salt: Uint8Array, params: { m: number; t: number; p: number }) {
  if (inFlight >= maxInFlight) throw new PasswordHasherBusyError()
  inFlight++
  try {
    // The async variant yields to the event loop every 10 ms, so other requests on this isolate
    // keep being served while a hash runs; the CPU spent is the same.
    return await argon2idAsync(passwordBytes(password), salt, {
      ...params,
      dkLen: hashBytes,
      version: argon2Version,
      asyncTick: 10,
      maxmem: parseLimits.m * 1024,
    })
  } finally {
    inFlight--
  }
}

function encode(params: { m: number; t: number; p: number }, salt: Uint8Array, hash: Uint8Array): string {
  return `$argon2id$v=${argon2Version}$m=${params.m},t=${params.t},p=${params.p}$${toB64(salt)}$${toB64(hash)}`
}

function parse(encoded: string): ParsedHash | null {
  const match = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(
    encoded,
  )
  if (!match) return null
  const [, v, m, t, p, saltText, hashText] = match
  const params = { m: Number(m), t: Number(t), p: Number(p) }
  if (Number(v) !== argon2Version) return null
  if (params.t < 1 || params.t > parseLimits.t || params.p < 1 || params.p > parseLimits.p) return null
  // RFC 9106 §3.1: at least 8 KiB per lane.
  if (params.m < 8 * params.p || params.m > parseLimits.m) return null
  const salt = fromB64(saltText!)
  const hash = fromB64(hashText!)
  if (!salt || salt.length < parseLimits.saltMin || salt.length > parseLimits.saltMax) return null
  if (!hash || hash.length < parseLimits.hashMin || hash.length > parseLimits.hashMax) return null
  return { ...params, salt, hash }
}

/** Equal-length byte comparison whose time does not depend on where the arrays differ. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  // Lengths are public (they are in the stored string); only the contents must not leak.
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/**
 * Hash a password with the current parameters and a fresh 16-byte salt.
 *
 * @example
 * const stored = await hashPassword('correct horse battery staple')
 * // '$argon2id$v=19$m=19456,t=2,p=1$…$…'
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(saltBytes))
  return encode(argon2Params, salt, await derive(password, salt, argon2Params))
}

/**
 * Check a password against a stored hash, with the parameters the hash was made with. A
 * malformed or foreign hash is simply "no match". The comparison is constant-time.
 *
 * @example
 * if (!(await verifyPassword(input, user.passwordHash))) throw new ApiError('unauthorized')
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parse(encoded)
  if (!parsed) return false
  const derived = await derive(password, parsed.salt, parsed)
  return constantTimeEqual(derived, parsed.hash)
}

/**
 * Whether a stored hash should be replaced at the next successful login: it is not Argon2id at
 * exactly the current parameters (or cannot be read at all).
 *
 * @example
 * if (needsRehash(user.passwordHash)) await savePasswordHash(user.id, await hashPassword(input))
 */
export function needsRehash(encoded: string): boolean {
  const parsed = parse(encoded)
  if (!parsed) return true
  return (
    parsed.m !== argon2Params.m ||
    parsed.t !== argon2Params.t ||
    parsed.p !== argon2Params.p ||
    parsed.hash.length !== hashBytes ||
    parsed.salt.length < saltBytes
  )
}

/**
 * A well-formed hash at the current parameters that no password matches (its digest is all
 * zeros). Verifying against it when an account does not exist, or has no password, costs the
 * same as a real verification, so response time does not reveal which accounts exist.
 */
export const unmatchableHash = encode(
  argon2Params,
  encoder.encode('rapport-timing!!'),
  new Uint8Array(hashBytes),
)

// ---------------------------------------------------------------------------------------------
// Strength rules
// ---------------------------------------------------------------------------------------------

export const passwordLength = { min: 12, max: 128 } as const

/**
 * Stems of passwords found at the top of public most-used lists (RockYou, NCSC's "100k most
 * used"), reduced to their word — `password1`, `Password123!` and `P@ssw0rd` all reduce to
 * `password` — plus keyboard walks and words an attacker tries first against an admin panel.
 * NIST SP 800-63B asks for a blocklist of commonly used and context-specific words rather than
 * composition rules; this short list plus the sequence/repeat/year rules below catches what a
 * 12-character minimum lets through, without shipping a large list in the Worker.
 */
const commonWords = `
  password passwort passw0rd qwerty qwertz azerty asdf zxcv qazwsx wsxedc iloveyou letmein welcome
  admin administrator root login master secret changeme default guest test temp user access monkey
  dragon shadow sunshine princess football baseball soccer hockey superman batman starwars trustno
  whatever freedom computer internet michael jennifer jordan hunter charlie daniel thomas andrew robert
  jessica ashley nicole matthew pokemon hello loveme lovely love flower family blessed jesus angel
  summer winter spring autumn january february march april june july august september october
  november december monday friday cookie chocolate pepper ginger killer mustang corvette harley ranger
  buster tigger cheese banana orange purple yellow maggie rapport dating
`
  .trim()
  .split(/\s+/)

/** Character runs an attacker's rules enumerate: the alphabet, digits and keyboard rows. */
const sequences = [
  'abcdefghijklmnopqrstuvwxyz',
  '01234567890',
  'qwertyuiop',
  'asdfghjkl',
  'zxcvbnm',
  '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p',
  'q1w2e3r4t5y6u7i8o9p0',
]

// Common substitutions, undone before matching words: "P@ssw0rd" is still "password".
const leet: Record<string, string> = {
  '@': 'a',
  '4': 'a',
  '3': 'e',
  '1': 'i',
  '!': 'i',
  '0': 'o',
  $: 's',
  '5': 's',
  '7': 't',
  '+': 't',
}

/**
 * Remove from `text` every occurrence of `word`s and every run of 3+ characters that walks a
 * sequence forwards or backwards, and return what is left.
 */
function stripPredictable(text: string, words: readonly string[]): string {
  let rest = text
  for (const word of [...words].sort((a, b) => b.length - a.length)) {
    if (word.length >= 3) rest = rest.split(word).join('\u0000')
  }
  // Years and repeated characters (aaa, 111) are predictable padding.
  rest = rest.replace(/(19|20)\d\d/g, '\u0000').replace(/(.)\1{2,}/g, '\u0000')
  const chars = [...rest]
  const keep = chars.map(() => true)
  for (const seq of sequences.flatMap((s) => [s, [...s].reverse().join('')])) {
    for (let i = 0; i + 3 <= chars.length; i++) {
      let j = i
      while (j < chars.length && seq.includes(chars.slice(i, j + 1).join(''))) j++
      if (j - i >= 3) for (let k = i; k < j; k++) keep[k] = false
    }
  }
  return chars.filter((ch, i) => keep[i] && ch !== '\u0000').join('')
}

/**
 * Check a new password against Rapport's rules and return the problems (empty when acceptable).
 * The rules follow NIST SP 800-63B: length first (12–128 characters, counted after Unicode
 * normalisation), then a blocklist — a password must keep at least 8 characters once common
 * passwords, the account's own name/username/email, keyboard and alphabet runs, repeated
 * characters and years are taken out. A password of a single character class (only lower-case
 * letters, only digits, …) must be at least 16 characters long; no other composition is imposed,
 * so long passphrases pass.
 *
 * @example
 * checkPasswordStrength('Password2024!')                   // ['is built from a common password, …']
 * checkPasswordStrength('correct horse battery staple')    // []
 * checkPasswordStrength('kx9#Lm2!vQ7p', { username: 'ana' }) // []
 */
export function checkPasswordStrength(
  password: string,
  context: { username?: string | null; email?: string | null; name?: string | null } = {},
): string[] {
  const normalized = password.normalize('NFKC')
  const length = [...normalized].length
  const problems: string[] = []
  if (length < passwordLength.min) problems.push(`must be at least ${passwordLength.min} characters long`)
  if (length > passwordLength.max) problems.push(`must be at most ${passwordLength.max} characters long`)
  if (problems.length) return problems

  const classes = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u].filter((re) =>
    re.test(normalized),
  ).length
  if (classes === 1 && length < 16) {
    problems.push('uses only one kind of character: make it at least 16 characters, or mix in others')
  }

  const lower = normalized.toLowerCase()
  const period = [...Array(Math.floor(lower.length / 2)).keys()]
    .map((i) => i + 1)
    .find((n) => lower.length % n === 0 && lower.slice(0, n).repeat(lower.length / n) === lower)
  if (period !== undefined) problems.push('repeats one short pattern')

  const contextWords = [
    context.username,
    context.name,
    ...(context.name ?? '').split(/\s+/),
    context.email?.split('@')[0],
    ...(context.email?.split('@')[0] ?? '').split(/[._+-]/),
  ]
    .filter((w): w is string => typeof w === 'string' && w.length >= 3)
    .map((w) => w.toLowerCase())
  const words = [...commonWords, ...contextWords]
  const deLeeted = [...lower].map((ch) => leet[ch] ?? ch).join('')
  const remaining = Math.min(
    [...stripPredictable(lower, words)].length,
    [...stripPredictable(deLeeted, words)].length,
  )
  if (period === undefined && remaining < 8) {
    problems.push(
      'is built from a common password, your name or email, sequences (abc, 123, qwerty), repeats or ' +
        'years: at least 8 characters must remain beyond those',
    )
  }
  return problems
}
