import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { requireAuth } from '../../middleware/auth'

const tags = ['Operators']

/** The boilerplate's token response (OAuth 2.0 style, RFC 6749 §5.1), plus the recommended `expires_in`. */
const AccessTokenSchema = z
  .object({
    access_token: z.string().openapi({ description: 'JWT for `Authorization: Bearer`' }),
    token_type: z.literal('bearer'),
    expires_in: z.number().int().openapi({ description: 'Access token lifetime in seconds', example: 1800 }),
  })
  .openapi('AccessToken')

const refreshCookieNote =
  'The refresh token is set as the `refresh_token` cookie (HttpOnly, Secure, SameSite=Lax, path `/api/v1`).'

export const login = createRoute({
  method: 'post',
  path: '/api/v1/login',
  operationId: 'loginOperator',
  tags,
  summary: 'Sign in with username (or email) and password',
  description:
    'Form-encoded, like an OAuth 2.0 password grant: `username` is a username, or an email address when it ' +
    'contains `@`. Wrong credentials get the same 401 whether or not the account exists. Bot accounts cannot ' +
    'sign in (403). Failed attempts are limited per 15 minutes: 5 per account from one client IP and 30 per ' +
    'client IP (then 429 with Retry-After); past 100 failures on one account from anywhere, every attempt on it ' +
    'is slowed down, never refused, so a right password from a client that has not failed always gets in. ' +
    refreshCookieNote,
  request: {
    body: {
      required: true,
      content: {
        'application/x-www-form-urlencoded': {
          schema: z
            .object({
              username: z
                .string()
                .min(1)
                .max(254)
                .openapi({ description: 'Username, or email address', example: 'admin' }),
              password: z.string().min(1).max(1024).openapi({ format: 'password' }),
            })
            .openapi('LoginForm'),
        },
      },
    },
  },
  responses: {
    200: { description: 'Signed in', content: { 'application/json': { schema: AccessTokenSchema } } },
    ...errorResponses(401, 403, 413, 415, 422, 429, 503),
  },
})

export const refresh = createRoute({
  method: 'post',
  path: '/api/v1/refresh',
  operationId: 'refreshOperatorSession',
  tags,
  summary: 'New access token from the refresh cookie (rotation)',
  description:
    'Every use replaces the `refresh_token` cookie with a new one. Presenting a refresh token that was already ' +
    'used ends the whole session (its access tokens stop working too).',
  request: {
    cookies: z.object({
      refresh_token: z
        .string()
        .max(4096)
        .optional()
        .openapi({ description: 'Set by login or a previous refresh' }),
    }),
  },
  responses: {
    200: { description: 'New access token', content: { 'application/json': { schema: AccessTokenSchema } } },
    ...errorResponses(401),
  },
})

export const logout = createRoute({
  method: 'post',
  path: '/api/v1/logout',
  operationId: 'logoutOperator',
  tags,
  summary: 'End this session',
  description:
    'Revokes the session of the presented access token: the token stops working at once, and so does every ' +
    'refresh token of the session. The refresh cookie is cleared.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  responses: {
    200: {
      description: 'Signed out',
      content: {
        'application/json': {
          schema: z
            .object({ message: z.string().openapi({ example: 'Logged out successfully' }) })
            .openapi('LoggedOut'),
        },
      },
    },
    ...errorResponses(401),
  },
})
