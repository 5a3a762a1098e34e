import { createRoute } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { requireAuth } from '../../middleware/auth'
import { peerParams } from '../chat/chat.routes'

const upgradeDescription =
  'WebSocket upgrade. Authenticate with `Authorization: Bearer <access token>`, or — for browsers, which cannot ' +
  'set headers on a WebSocket — by offering the subprotocols `rapport.v1, bearer.<access token>`. Frames are JSON; ' +
  '`{"type":"ping"}` is answered with `{"type":"pong"}`.'

export const conversationSocket = createRoute({
  method: 'get',
  path: '/api/v1/conversations/{peerId}/socket',
  operationId: 'openConversationSocket',
  tags: ['Chat'],
  summary: 'Open the conversation socket with another member',
  description: upgradeDescription,
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  request: {
    params: peerParams,
  },
  responses: {
    101: { description: 'Switching protocols; the socket speaks rapport.v1' },
    ...errorResponses(401, 422, 426),
  },
})

export const hubSocket = createRoute({
  method: 'get',
  path: '/api/v1/hub/socket',
  operationId: 'openHubSocket',
  tags: ['Chat'],
  summary: "Open the caller's inbox and presence socket",
  description: upgradeDescription,
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  responses: {
    101: { description: 'Switching protocols; the socket speaks rapport.v1' },
    ...errorResponses(401, 426),
  },
})
