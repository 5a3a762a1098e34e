import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { requireAuth } from '../../middleware/auth'
import { PendingClubSchema, SignUpAnswersSchema } from '../../services/accounts/sign-up-quiz'
import { TokensSchema } from '../auth/auth.routes'

const tags = ['Sign-in']

const clientField = z
  .enum(['web', 'mobile'])
  .default('mobile')
  .openapi({ description: '`web`: refresh token as an HttpOnly cookie; `mobile`: in the body' })

const shared = {
  client: clientField,
  device: z.string().max(200).optional().openapi({ description: 'Shown in the session list' }),
  answers: SignUpAnswersSchema.optional(),
  pendingClub: PendingClubSchema.optional(),
}

const lookup =
  'Account: the one linked to this provider account, else the member with this provider-verified email (linked ' +
  'now), else a new member (onboarding); an unverified email is a 409. Otherwise as email sign-in (bans, ' +
  '`answers`, `pendingClub`, token pair, daily per-IP limit).'

export const signInWithGoogle = createRoute({
  method: 'post',
  path: '/api/v1/auth/google',
  operationId: 'signInWithGoogle',
  tags,
  summary: 'Sign in with a Google ID token',
  description: lookup,
  security: [],
  request: {
    body: jsonBody(z.object({ idToken: z.string().min(1).max(8192), ...shared })),
  },
  responses: {
    200: { description: 'Signed in', content: { 'application/json': { schema: TokensSchema } } },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429, 503),
  },
})

export const signInWithApple = createRoute({
  method: 'post',
  path: '/api/v1/auth/apple',
  operationId: 'signInWithApple',
  tags,
  summary: 'Sign in with an Apple identity token',
  description:
    'Send the raw nonce whose SHA-256 (hex) you gave Apple (or the nonce you passed unhashed). Private-relay ' +
    `emails are accepted. ${lookup}`,
  security: [],
  request: {
    body: jsonBody(
      z.object({
        identityToken: z.string().min(1).max(8192),
        nonce: z.string().min(16).max(128),
        ...shared,
      }),
    ),
  },
  responses: {
    200: { description: 'Signed in', content: { 'application/json': { schema: TokensSchema } } },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429, 503),
  },
})

export const startAppleWebSignIn = createRoute({
  method: 'post',
  path: '/api/v1/auth/apple/web',
  operationId: 'startAppleWebSignIn',
  tags,
  summary: 'Start Sign in with Apple on the web',
  description:
    "Returns a signed `state` and a `nonce` for Apple's JS (`usePopup: false`, `responseMode: form_post`, " +
    "`redirectURI` = this API's `/api/v1/auth/apple/callback`). `redirectUrl` must be one of the configured " +
    'APPLE_REDIRECT_URLS; after Apple posts back, the browser is sent there with the tokens (or an `error`) in ' +
    'the URL fragment. The state is valid 10 minutes.',
  security: [],
  request: {
    body: jsonBody(
      z.object({
        redirectUrl: z.url().max(2048),
        pendingClub: PendingClubSchema.optional(),
      }),
    ),
  },
  responses: {
    201: {
      description: 'Flow started',
      content: {
        'application/json': {
          schema: z
            .object({ state: z.string(), nonce: z.string(), expiresAt: z.iso.datetime() })
            .openapi('AppleWebSignIn'),
        },
      },
    },
    ...errorResponses(400, 413, 415, 422, 429, 503),
  },
})

export const appleCallback = createRoute({
  method: 'post',
  path: '/api/v1/auth/apple/callback',
  operationId: 'completeAppleWebSignIn',
  tags,
  summary: "Apple's form_post callback (web flow)",
  description:
    'A valid state redirects (302) to its URL with `#access_token=…&refresh_token=…&expires_in=…&needs_onboarding=…` ' +
    'or `#error=<code>`; an invalid, expired or no longer allowed state is a 400 without redirect.',
  security: [],
  request: {
    body: {
      required: true,
      content: {
        'application/x-www-form-urlencoded': {
          schema: z.object({
            state: z.string().min(1).max(4096),
            id_token: z.string().max(8192).optional(),
            code: z.string().max(2048).optional(),
            user: z.string().max(4096).optional(),
            error: z.string().max(200).optional(),
          }),
        },
      },
    },
  },
  responses: {
    302: { description: 'To the client URL named by the state' },
    ...errorResponses(400, 413, 415, 422, 429),
  },
})

const MethodsSchema = z
  .object({
    email: z.object({
      address: z.string(),
      usable: z.boolean(),
    }),
    providers: z.array(
      z.object({
        provider: z.enum(['google', 'apple']),
        email: z.string().nullable(),
        linkedAt: z.iso.datetime(),
        lastUsedAt: z.iso.datetime(),
      }),
    ),
  })
  .openapi('SignInMethods')

export const listSignInMethods = createRoute({
  method: 'get',
  path: '/api/v1/me/sign-in-methods',
  operationId: 'listSignInMethods',
  tags: ['Me'],
  summary: 'How I can sign in',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  responses: {
    200: {
      description: 'Email and linked providers',
      content: { 'application/json': { schema: MethodsSchema } },
    },
    ...errorResponses(401, 429),
  },
})

export const unlinkSignInMethod = createRoute({
  method: 'delete',
  path: '/api/v1/me/sign-in-methods/{provider}',
  operationId: 'unlinkSignInMethod',
  tags: ['Me'],
  summary: 'Unlink Google or Apple',
  description: '409 when it is the last way to sign in.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  request: { params: z.object({ provider: z.enum(['google', 'apple']) }) },
  responses: { 204: { description: 'Unlinked' }, ...errorResponses(401, 404, 409, 422, 429) },
})
