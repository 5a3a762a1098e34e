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
  'The account is the one already linked to this provider account, else the member whose email the ' +
  'provider has verified (linked now), else a new member who starts onboarding. An email the provider has ' +
  'not verified is a 409. Bans, the disposable-email rule, `answers` and `pendingClub` work as for email ' +
  'sign-in, and so does the answer: the same token pair. Shares the per-IP daily sign-in limit with email ' +
  'sign-in.'

export const signInWithGoogle = createRoute({
  method: 'post',
  path: '/api/v1/auth/google',
  operationId: 'signInWithGoogle',
  tags,
  summary: 'Sign in with a Google ID token',
  description: `Verifies the ID token (Google's keys, issuer, audience = one of the configured client ids, expiry). ${lookup}`,
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
  summary: 'Sign in with an Apple identity token (native apps)',
  description:
    "Verifies the identity token (Apple's keys, issuer, audience = one of the configured bundle/Services ids, " +
    'expiry) and the nonce: send the raw nonce whose SHA-256 (hex) you gave Apple, or the nonce itself if you ' +
    `passed it unhashed. Private-relay emails are accepted like any other. ${lookup}`,
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
    'Apple posts `id_token`, `state`, `code`, and on the first authorization `user` (name and email). A valid ' +
    'state redirects (302) to its URL with `#access_token=…&refresh_token=…&expires_in=…&needs_onboarding=…` or ' +
    '`#error=<code>`; an invalid or expired state, or one naming a URL no longer allowed, is a 400 with no ' +
    'redirect. Own per-IP daily limit.',
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
      usable: z
        .boolean()
        .openapi({ description: 'false for Apple private-relay addresses, which may not receive codes' }),
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
  description:
    'Refused (409) when it is the last way to sign in (an Apple relay email and no other provider).',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  request: { params: z.object({ provider: z.enum(['google', 'apple']) }) },
  responses: { 204: { description: 'Unlinked' }, ...errorResponses(401, 404, 409, 422, 429) },
})
