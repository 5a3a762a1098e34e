import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { requireAuth } from '../../middleware/auth'
import { PendingClubSchema, SignUpAnswersSchema } from '../../services/accounts/sign-up-quiz'
import { userRole, userStatus } from '../../db/schema'

const tags = ['Sign-in']

const ChallengeSchema = z
  .object({
    challengeId: z.uuid().openapi({ description: 'Pass to resend and verify' }),
    expiresAt: z.iso.datetime().openapi({ description: 'When the emailed code stops working (10 minutes)' }),
  })
  .openapi('SignInChallenge')

const UserSummarySchema = z
  .object({
    id: z.uuid(),
    role: z.enum(userRole.enumValues),
    status: z.enum(userStatus.enumValues),
  })
  .openapi('UserSummary')

export const TokensSchema = z
  .object({
    accessToken: z.string().openapi({ description: 'JWT for `Authorization: Bearer`' }),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int().openapi({ description: 'Access token lifetime in seconds' }),
    refreshToken: z
      .string()
      .optional()
      .openapi({ description: 'Mobile clients only; web clients get it as an HttpOnly cookie' }),
    refreshExpiresAt: z.iso.datetime(),
    needsOnboarding: z.boolean().optional(),
    user: UserSummarySchema.optional(),
  })
  .openapi('Tokens')

const clientField = z
  .enum(['web', 'mobile'])
  .default('mobile')
  .openapi({ description: '`web`: refresh token as an HttpOnly cookie; `mobile`: in the body' })

export const requestCode = createRoute({
  method: 'post',
  path: '/api/v1/auth/otp',
  operationId: 'requestSignInCode',
  tags,
  summary: 'Email me a sign-in code',
  description:
    'Creates a pending sign-in and emails a six-digit code valid 10 minutes. A new address becomes an account ' +
    'when the code is verified. Outside production, `@example.com` addresses use the code `000000` and get no ' +
    'mail. Rate limited per IP and per email (3/min sends; 40 per 24 hours, counted over a sliding window). `answers` (public-quiz answers, at most 50) ' +
    'and `pendingClub` are kept with the sign-in and applied when the code is verified: answers never replace ' +
    "ones the member already has, and a new member's personality is computed when onboarding finishes. " +
    'A client address on a configured IP reputation list is refused first (403 `ip_blocked`, no code sent); ' +
    'the check lets the sign-in through when it cannot answer within its time budget.',
  request: {
    body: jsonBody(
      z.object({
        email: z.string().max(254).openapi({ example: 'jane@gmail.com' }),
        answers: SignUpAnswersSchema.optional(),
        pendingClub: PendingClubSchema.optional(),
      }),
    ),
  },
  responses: {
    201: { description: 'Code sent', content: { 'application/json': { schema: ChallengeSchema } } },
    ...errorResponses(400, 403, 413, 415, 422, 429, 503),
  },
})

export const resendCode = createRoute({
  method: 'post',
  path: '/api/v1/auth/otp/resend',
  operationId: 'resendSignInCode',
  tags,
  summary: 'Send a new code for a pending sign-in',
  description: 'Issues a new code with a fresh 10-minute window and 5 attempts. Shares the send rate limits.',
  request: { body: jsonBody(z.object({ challengeId: z.uuid() })) },
  responses: {
    200: { description: 'Code sent', content: { 'application/json': { schema: ChallengeSchema } } },
    ...errorResponses(400, 404, 413, 415, 422, 429, 503),
  },
})

export const verifyCode = createRoute({
  method: 'post',
  path: '/api/v1/auth/otp/verify',
  operationId: 'verifySignInCode',
  tags,
  summary: 'Sign in with the emailed code',
  description:
    'At most 5 wrong attempts per code; then the sign-in is dead and a new code must be requested. Returns ' +
    'tokens and whether the account still needs onboarding.',
  request: {
    body: jsonBody(
      z.object({
        challengeId: z.uuid(),
        code: z.string().regex(/^\d{6}$/, 'six digits'),
        client: clientField,
        device: z.string().max(200).optional().openapi({ description: 'Shown in the session list' }),
      }),
    ),
  },
  responses: {
    200: { description: 'Signed in', content: { 'application/json': { schema: TokensSchema } } },
    ...errorResponses(400, 401, 403, 413, 415, 422, 429),
  },
})

export const refresh = createRoute({
  method: 'post',
  path: '/api/v1/auth/refresh',
  operationId: 'refreshSession',
  tags,
  summary: 'Exchange a refresh token for new tokens (rotation)',
  description:
    'Send the refresh token in the body (mobile) or rely on the `refresh_token` cookie (web). Every use ' +
    'returns a new refresh token; presenting one that was already used ends the whole session.',
  request: {
    body: {
      content: {
        'application/json': { schema: z.object({ refreshToken: z.string().min(20).max(200).optional() }) },
      },
      required: false,
    },
  },
  responses: {
    200: { description: 'New tokens', content: { 'application/json': { schema: TokensSchema } } },
    ...errorResponses(401, 413, 415, 422, 429),
  },
})

export const logout = createRoute({
  method: 'post',
  path: '/api/v1/auth/logout',
  operationId: 'logout',
  tags,
  summary: 'End this session',
  description: 'Revokes the session: its access token stops working immediately, and its refresh token too.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  responses: { 204: { description: 'Signed out' }, ...errorResponses(401) },
})
