import { createRoute, z } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { ApiError } from '../../lib/http/errors'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { requireAuth } from '../../middleware/auth'
import { ExpoTokenSchema, WebPushSubscriptionSchema } from '../../services/push/targets'
import type { AppEnv } from '../../types'

const tags = ['Push']
const security = [{ bearerAuth: [] }]

/** A token or a subscription is well under a kilobyte; anything near this is not one. */
export const maxPushBodyBytes = 4096
const pushBodyLimit: MiddlewareHandler<AppEnv> = bodyLimit({
  maxSize: maxPushBodyBytes,
  onError: () => {
    throw new ApiError('payload_too_large', `Push registrations are at most ${maxPushBodyBytes} bytes`)
  },
})

const params = z.object({ id: z.uuid().openapi({ description: 'The session (my current one)' }) })

export const PushTargetSchema = z
  .object({
    sessionId: z.uuid(),
    kind: z.enum(['expo', 'web']),
    address: z.string().openapi({ description: 'The Expo push token, or the subscription endpoint' }),
    updatedAt: z.iso.datetime(),
  })
  .openapi('PushTarget')

const target = { 'application/json': { schema: PushTargetSchema } }

const sessionRules =
  'Only the session making the request may register for itself (another of my sessions: 403; ' +
  "another member's or an ended session: 404). Signing out, revocation, a ban or deletion drops it."

export const registerPushToken = createRoute({
  method: 'put',
  operationId: 'registerPushToken',
  path: '/api/v1/me/sessions/{id}/push-token',
  tags,
  summary: "Register or replace this mobile session's Expo push token",
  description:
    `${sessionRules} Mobile sessions only (409 on a web session). A token another session held moves here ` +
    '(one device, one token). Also available as the inbox socket frame `push-token`.',
  security,
  middleware: [requireAuth, pushBodyLimit] as const,
  request: {
    params,
    body: jsonBody(
      z.object({
        token: ExpoTokenSchema.openapi({ example: 'ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]' }),
      }),
    ),
  },
  responses: {
    200: { description: 'Registered', content: target },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422),
  },
})

export const registerWebPushSubscription = createRoute({
  method: 'put',
  operationId: 'registerWebPushSubscription',
  path: '/api/v1/me/sessions/{id}/web-push-subscription',
  tags,
  summary: "Register or replace this web session's browser push subscription",
  description:
    `${sessionRules} Web sessions only (409 on a mobile session, or when the server has no VAPID keys). ` +
    'The body is `PushSubscription.toJSON()` from a subscription made with the key from `getVapidPublicKey`; ' +
    "the endpoint must be a browser vendor's push service.",
  security,
  middleware: [requireAuth, pushBodyLimit] as const,
  request: { params, body: jsonBody(WebPushSubscriptionSchema) },
  responses: {
    200: { description: 'Registered', content: target },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422),
  },
})

export const getPushTarget = createRoute({
  method: 'get',
  operationId: 'getPushTarget',
  path: '/api/v1/me/sessions/{id}/push-target',
  tags,
  summary: "This session's push target",
  security,
  middleware: [requireAuth] as const,
  request: { params },
  responses: {
    200: { description: 'The target', content: target },
    ...errorResponses(401, 403, 404, 422),
  },
})

export const clearPushTarget = createRoute({
  method: 'delete',
  operationId: 'clearPushTarget',
  path: '/api/v1/me/sessions/{id}/push-target',
  tags,
  summary: "Clear this session's push token or subscription",
  description: 'Idempotent: clearing a session without a target is a 204 too.',
  security,
  middleware: [requireAuth] as const,
  request: { params },
  responses: { 204: { description: 'Cleared' }, ...errorResponses(401, 403, 404, 422) },
})

export const getVapidPublicKey = createRoute({
  method: 'get',
  operationId: 'getVapidPublicKey',
  path: '/api/v1/push/vapid-public-key',
  tags,
  summary: "The server's VAPID public key (applicationServerKey)",
  description:
    'For `pushManager.subscribe({ userVisibleOnly: true, applicationServerKey })`. 404 when browser push is off.',
  security: [],
  responses: {
    200: {
      description: 'The key, base64url (65-byte uncompressed P-256 point)',
      content: { 'application/json': { schema: z.object({ publicKey: z.string() }) } },
    },
    ...errorResponses(404),
  },
})
