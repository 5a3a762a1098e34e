import type { Context } from 'hono'
import type { RouteHandler } from '@hono/zod-openapi'
import { ApiError } from '../../lib/http/errors'
import { enforceLimits } from '../../services/platform/rate-limit'
import {
  readAppleWebState,
  rememberAppleName,
  startAppleWebSignIn as startWeb,
} from '../../services/identity/apple-web'
import { verifyAppleIdentityToken, verifyGoogleIdToken } from '../../services/identity/id-tokens'
import { listSignInMethods as listMethods, unlinkProvider } from '../../services/identity/sign-in-methods'
import { signInWithIdentity } from '../../services/identity/social-sign-in'
import type { AppEnv, AuthedEnv } from '../../types'
import { applyHeaders, dailyRule, ipId, tokenResponse } from '../auth/auth.handlers'
import type * as routes from './social-sign-in.routes'

type C = Context<AppEnv>

/** Social sign-in counts against the same per-IP daily sign-in budget as email code checks. */
async function limitSignIn(c: C, scope = 'sign-in-attempt') {
  const { headers } = await enforceLimits(c.get('services'), [[dailyRule(c, scope), ipId(c)]])
  applyHeaders(c, headers)
}

const device = (c: C, given?: string) => given ?? c.req.header('user-agent')?.slice(0, 200) ?? null

export const signInWithGoogle: RouteHandler<typeof routes.signInWithGoogle, AppEnv> = async (c) => {
  await limitSignIn(c)
  const s = c.get('services')
  const body = c.req.valid('json')
  const who = await verifyGoogleIdToken(s, body.idToken)
  const signedIn = await signInWithIdentity(s, who, {
    client: body.client,
    device: device(c, body.device),
    ip: c.get('clientIp'),
    answers: body.answers,
    pendingClub: body.pendingClub,
  })
  return c.json(tokenResponse(c, signedIn, body.client), 200)
}

export const signInWithApple: RouteHandler<typeof routes.signInWithApple, AppEnv> = async (c) => {
  await limitSignIn(c)
  const s = c.get('services')
  const body = c.req.valid('json')
  const who = await verifyAppleIdentityToken(s, body.identityToken, body.nonce)
  const signedIn = await signInWithIdentity(s, who, {
    client: body.client,
    device: device(c, body.device),
    ip: c.get('clientIp'),
    answers: body.answers,
    pendingClub: body.pendingClub,
  })
  return c.json(tokenResponse(c, signedIn, body.client), 200)
}

export const startAppleWebSignIn: RouteHandler<typeof routes.startAppleWebSignIn, AppEnv> = async (c) => {
  const body = c.req.valid('json')
  const started = await startWeb(c.get('services'), body)
  return c.json(
    { state: started.state, nonce: started.nonce, expiresAt: started.expiresAt.toISOString() },
    201,
  )
}

export const appleCallback: RouteHandler<typeof routes.appleCallback, AppEnv> = async (c) => {
  await limitSignIn(c, 'apple-callback')
  const s = c.get('services')
  const form = c.req.valid('form')
  // An unusable state is answered here, without a redirect: its URL cannot be trusted.
  const state = await readAppleWebState(s, form.state)
  const back = (fragment: Record<string, string>) => {
    c.header('Cache-Control', 'no-store')
    c.header('Referrer-Policy', 'no-referrer')
    return c.redirect(`${state.redirectUrl}#${new URLSearchParams(fragment)}`, 302)
  }
  if (form.error) return back({ error: form.error.slice(0, 100) })
  if (!form.id_token) return back({ error: 'invalid_id_token' })
  try {
    const who = await verifyAppleIdentityToken(s, form.id_token, state.nonce, 'form.id_token')
    const signedIn = await signInWithIdentity(s, who, {
      client: 'mobile',
      device: device(c),
      ip: c.get('clientIp'),
      pendingClub: state.pendingClub,
    })
    await rememberAppleName(s, signedIn.user, form.user)
    return back({
      access_token: signedIn.accessToken,
      token_type: 'Bearer',
      expires_in: String(signedIn.expiresIn),
      refresh_token: signedIn.refreshToken,
      needs_onboarding: String(signedIn.needsOnboarding),
    })
  } catch (err) {
    if (!(err instanceof ApiError) || err.status >= 500) throw err
    return back({ error: err.code })
  }
}

export const listSignInMethods: RouteHandler<typeof routes.listSignInMethods, AuthedEnv> = async (c) => {
  const methods = await listMethods(c.get('services'), c.get('caller').userId)
  return c.json(
    {
      email: methods.email,
      providers: methods.providers.map((p) => ({
        provider: p.provider,
        email: p.email,
        linkedAt: p.linkedAt.toISOString(),
        lastUsedAt: p.lastUsedAt.toISOString(),
      })),
    },
    200,
  )
}

export const unlinkSignInMethod: RouteHandler<typeof routes.unlinkSignInMethod, AuthedEnv> = async (c) => {
  await unlinkProvider(c.get('services'), c.get('caller').userId, c.req.valid('param').provider)
  return c.body(null, 204)
}
