import { SELF, env } from 'cloudflare:test'
import { SignJWT } from 'jose'
import { inject } from 'vitest'
import { rateLimitRules, tiers } from '../../src/db/schema'
import type { Env } from '../../src/env'
import type { Problem } from '../../src/lib/http/problem'
import { createServices } from '../../src/services'
import { checkProfileText, type ProfileTextKind } from '../../src/services/moderation/text-rules'
import { testJwtSecret, testPublicUrl } from '../support/constants'

export const origin = testPublicUrl

/** Call the Worker exactly as a client would (through its fetch handler and every middleware). */
export function api(path: string, init?: RequestInit): Promise<Response> {
  return SELF.fetch(origin + path, init)
}

/** The test env with some variables replaced: config is parsed per env object. */
export function envWith(overrides: Record<string, unknown>): Env {
  return { ...env, ...overrides } as Env
}

/**
 * The test bindings that point at loopback stand-ins, which only ENVIRONMENT=local accepts: spread
 * into the overrides of a staging or production environment, so its defaults (the real services'
 * https addresses) apply instead.
 */
export const localOnlyBindings = {
  NEON_LOCAL_PROXY: undefined,
  GOOGLE_JWKS_URL: undefined,
  APPLE_JWKS_URL: undefined,
  STRIPE_API_URL: undefined,
  EXPO_PUSH_URL: undefined,
}

/** Services over the test bindings, for arranging and asserting database state. */
export const services = () => createServices(env as Env)

/** Read a problem+json body, asserting the content type on the way. */
export async function problem(res: Response): Promise<Problem> {
  const type = res.headers.get('content-type') ?? ''
  if (!type.startsWith('application/problem+json')) {
    throw new Error(`expected problem+json, got ${type}: ${await res.text()}`)
  }
  return (await res.json()) as Problem
}

/** An access token as the accounts service will issue them; override claims to forge bad ones. */
export async function accessToken(
  claims: Record<string, unknown> = {},
  opts: { secret?: string; alg?: string; expiresIn?: string } = {},
): Promise<string> {
  const { sub = crypto.randomUUID(), iss = 'rapport', aud = 'rapport-api', ...rest } = claims
  return new SignJWT({ sid: crypto.randomUUID(), role: 'member', token_type: 'access', ...rest })
    .setProtectedHeader({ alg: opts.alg ?? 'HS256' })
    .setSubject(String(sub))
    .setIssuer(String(iss))
    .setAudience(String(aud))
    .setIssuedAt()
    .setJti(crypto.randomUUID())
    .setExpirationTime(opts.expiresIn ?? '10m')
    .sign(new TextEncoder().encode(opts.secret ?? testJwtSecret))
}

/** A message as the test SMTP sink received it (see test/setup/smtp-sink.ts). */
export interface Message {
  from: string
  /** SMTP envelope recipients. */
  to: string[]
  subject: string
  text: string | null
  html: string | null
  date: string
  headers: Record<string, string>
}

/** Messages the SMTP sink accepted for `to` (envelope recipient, case-insensitive), oldest first. */
export async function mailbox(to: string): Promise<Message[]> {
  const res = await fetch(`${inject('smtpApiUrl')}/messages?to=${encodeURIComponent(to)}`)
  if (!res.ok) throw new Error(`SMTP sink answered ${res.status}`)
  return (await res.json()) as Message[]
}

/**
 * Forget messages in the SMTP sink: only `to`'s when given, which is what tests should do, since
 * test files run in parallel against one sink.
 */
export async function clearMailbox(to?: string): Promise<void> {
  const query = to ? `?to=${encodeURIComponent(to)}` : ''
  const res = await fetch(`${inject('smtpApiUrl')}/messages${query}`, { method: 'DELETE' })
  if (!res.ok) throw new Error(`SMTP sink answered ${res.status}`)
}

// test/setup/global-setup.ts declares what it provides, but that file belongs to the Node
// tsconfig; repeat here the part workerd-side helpers read.
declare module 'vitest' {
  export interface ProvidedContext {
    smtpApiUrl: string
    pushFakeUrl: string
    vapidPublicKey: string
  }
}

/**
 * Wait until at least `needMs` are left in the current window of a `periodSeconds` rate limit.
 * Windows start at multiples of their period since the epoch, and a count does not carry whole
 * across an edge: a fixed window starts again at zero, a sliding one weighs the last window's
 * count down. A test that must see a limit reached calls this first, so its requests all land
 * in one window. It waits at most `needMs`; give the test a timeout that allows for it.
 */
export async function clearOfWindowEdge(periodSeconds: number, needMs = 8_000): Promise<void> {
  const periodMs = periodSeconds * 1000
  const left = periodMs - (Date.now() % periodMs)
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 50))
}

const textKinds: ProfileTextKind[] = ['name', 'about', 'occupation', 'education', 'club']

/**
 * A random lower-case hex tag of `length` that the profile-text rules accept inside `wrap(tag)`,
 * for names and clubs no other test uses. Plain random hex now and then reads as a rude word
 * (digits stand for letters: "hiking9a…" reads "…ingga"), which would make a test that writes it
 * flaky, so such tags are drawn again.
 */
export function politeTag(length = 10, wrap = (tag: string) => tag): string {
  for (;;) {
    const tag = crypto.randomUUID().replaceAll('-', '').slice(0, length)
    const text = wrap(tag)
    if (textKinds.every((kind) => checkProfileText(kind, text).ok)) return tag
  }
}

/** A rate-limit rule for {@link tierWithRules}: an hour's period and a generated name unless given. */
export interface TestRateLimitRule {
  route: string
  limit: number
  periodSeconds?: number
  algorithm?: 'fixed' | 'sliding'
  name?: string
}

/** A new tier named `<prefix>-<random>`, with these rate-limit rules. */
export async function tierWithRules(prefix: string, rules: TestRateLimitRule[] = []) {
  const { db } = services().database
  const name = `${prefix}-${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`
  const [tier] = await db.insert(tiers).values({ name }).returning()
  if (rules.length > 0) {
    await db
      .insert(rateLimitRules)
      .values(rules.map((r, i) => ({ periodSeconds: 3600, name: `${prefix}-${i}`, ...r, tierId: tier!.id })))
  }
  return tier!
}

/**
 * Services (and the env behind them) whose Redis requests and commands the Upstash stand-in counts
 * apart from every other test's: it strips `/__tag/<id>` from the path and counts under the id.
 */
export function taggedRedis() {
  const id = crypto.randomUUID().replaceAll('-', '').slice(0, 12)
  const taggedEnv = envWith({ UPSTASH_REDIS_REST_URL: `${inject('upstashUrl')}/__tag/${id}` })
  const stats = async () =>
    (await (await fetch(`${inject('upstashUrl')}/__stats/${id}`)).json()) as {
      requests: number
      commands: number
    }
  return { env: taggedEnv, s: createServices(taggedEnv), stats }
}
