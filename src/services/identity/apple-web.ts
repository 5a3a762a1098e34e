import { SignJWT, jwtVerify } from 'jose'
import { eq } from 'drizzle-orm'
import { users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { randomToken } from '../../lib/crypto'
import { updateOnboarding } from '../accounts/onboarding'
import type { Services } from '..'

/**
 * Sign in with Apple on the web: Apple POSTs the result (`response_mode=form_post`) to our
 * callback, which then sends the browser on to the client. Where to is carried in `state`, which
 * the server signs when the flow starts, so the callback redirects only to a URL it issued a
 * state for, and only if that URL is still on APPLE_REDIRECT_URLS — never to a URL taken from the
 * request. The state also binds the flow's nonce, so an identity token obtained elsewhere does
 * not complete it.
 */

const stateAudience = 'rapport-apple-web-state'
const stateTtlSeconds = 10 * 60

export interface AppleWebState {
  redirectUrl: string
  nonce: string
  pendingClub?: string
}

const stateKey = (s: Services) => new TextEncoder().encode(`apple-state:${s.config.jwt.secret}`)

function assertAllowed(s: Services, url: string, path: string) {
  if (!s.config.identity.apple.redirectUrls.includes(url)) {
    throw new ApiError('validation_failed', 'This redirect URL is not allowed', {
      errors: [{ path, message: 'must be one of the configured APPLE_REDIRECT_URLS' }],
    })
  }
}

/**
 * Start a web sign-in: a signed state (10 minutes) and the nonce to hand Apple's JS.
 *
 * @example
 * const { state, nonce } = await startAppleWebSignIn(s, { redirectUrl: 'https://app.example/signed-in' })
 */
export async function startAppleWebSignIn(
  s: Services,
  input: { redirectUrl: string; pendingClub?: string },
): Promise<{ state: string; nonce: string; expiresAt: Date }> {
  if (s.config.identity.apple.clientIds.length === 0) {
    throw new ApiError('service_unavailable', 'Sign in with Apple is not configured on this server')
  }
  assertAllowed(s, input.redirectUrl, 'json.redirectUrl')
  const nonce = randomToken(24)
  const now = Math.floor(s.clock.now().getTime() / 1000)
  const state = await new SignJWT({
    url: input.redirectUrl,
    nonce,
    ...(input.pendingClub ? { club: input.pendingClub } : {}),
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience(stateAudience)
    .setIssuedAt(now)
    .setExpirationTime(now + stateTtlSeconds)
    .sign(stateKey(s))
  return { state, nonce, expiresAt: new Date((now + stateTtlSeconds) * 1000) }
}

/**
 * Read a state back: signed by us, unexpired, and its URL still allowed. Anything else is a 400
 * with no redirect at all.
 */
export async function readAppleWebState(s: Services, state: string): Promise<AppleWebState> {
  let payload: Record<string, unknown>
  try {
    ;({ payload } = await jwtVerify(state, stateKey(s), {
      audience: stateAudience,
      algorithms: ['HS256'],
      currentDate: s.clock.now(),
    }))
  } catch {
    throw new ApiError('invalid_state', 'Invalid or expired state; start again', {
      errors: [{ path: 'form.state', message: 'invalid or expired' }],
    })
  }
  const { url, nonce, club } = payload
  if (typeof url !== 'string' || typeof nonce !== 'string') {
    throw new ApiError('invalid_state', 'Invalid state; start again')
  }
  if (!s.config.identity.apple.redirectUrls.includes(url)) {
    throw new ApiError('invalid_state', 'The state names a URL that is not allowed', {
      errors: [{ path: 'form.state', message: 'redirect URL not allowed' }],
    })
  }
  return { redirectUrl: url, nonce, pendingClub: typeof club === 'string' ? club : undefined }
}

/**
 * Apple sends the person's name only on their first authorization, as JSON in the `user` form
 * field: a member still onboarding gets it as their onboarding name (through the same checks and
 * URL-slug reservation as a typed one). A name the checks refuse is simply not kept.
 */
export async function rememberAppleName(
  s: Services,
  user: { id: string; status: string },
  userField: string | undefined,
): Promise<void> {
  if (!userField || user.status !== 'onboarding') return
  let parsed: { name?: { firstName?: unknown } }
  try {
    parsed = JSON.parse(userField) as typeof parsed
  } catch {
    return
  }
  const name = typeof parsed.name?.firstName === 'string' ? parsed.name.firstName.trim().slice(0, 64) : ''
  if (!name) return
  const [row] = await s.database.db.select({ name: users.name }).from(users).where(eq(users.id, user.id))
  if (row?.name) return
  await updateOnboarding(s, user.id, { name }).catch((err: unknown) =>
    s.log.info('identity.apple_name_skipped', { userId: user.id, reason: String(err) }),
  )
}
