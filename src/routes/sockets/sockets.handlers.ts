import type { Context } from 'hono'
import type { RouteHandler } from '@hono/zod-openapi'
import { decodeJwt } from 'jose'
import { conversationName, identityHeaders } from '../../services/chat/protocol'
import { bearerSubprotocolPrefix } from '../../middleware/auth'
import { ApiError } from '../../lib/http/errors'
import type { AuthedEnv, Caller } from '../../types'
import type { conversationSocket, hubSocket } from './sockets.routes'

/**
 * Hand an authenticated upgrade to a Durable Object. The DO receives a fresh request carrying
 * only the WebSocket handshake headers and the identity the Worker verified — never the
 * client's own identity headers or its token.
 */
async function forwardUpgrade(
  c: Context<AuthedEnv>,
  stub: { fetch(r: Request): Promise<Response> },
  caller: Caller,
) {
  const incoming = c.req.raw.headers
  if (incoming.get('upgrade')?.toLowerCase() !== 'websocket') {
    throw new ApiError('upgrade_required', 'Open this endpoint as a WebSocket', {
      headers: { Upgrade: 'websocket' },
    })
  }
  const headers = new Headers({ Upgrade: 'websocket' })
  for (const name of ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions']) {
    const value = incoming.get(name)
    if (value) headers.set(name, value)
  }
  const offered = (incoming.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim())
  const protocols = offered.filter((p) => p && !p.startsWith(bearerSubprotocolPrefix))
  if (protocols.length) headers.set('sec-websocket-protocol', protocols.join(', '))
  headers.set(identityHeaders.userId, caller.userId)
  headers.set(identityHeaders.sessionId, caller.sessionId)
  // requireAuth verified the token; the object only needs its expiry, to close the socket after it.
  const token =
    /^Bearer\s+(\S+)$/i.exec(incoming.get('authorization') ?? '')?.[1] ??
    offered.find((p) => p.startsWith(bearerSubprotocolPrefix))?.slice(bearerSubprotocolPrefix.length)
  const exp = token ? decodeJwt(token).exp : undefined
  if (exp) headers.set(identityHeaders.tokenExpiry, String(exp))

  const upgraded = await stub.fetch(new Request(c.req.url, { headers }))
  // A fetched Response has immutable headers; re-wrap it so response middleware can add theirs.
  return new Response(null, {
    status: upgraded.status,
    webSocket: upgraded.webSocket,
    headers: upgraded.headers,
  })
}

export const openConversation: RouteHandler<typeof conversationSocket, AuthedEnv> = async (c) => {
  const caller = c.get('caller')
  const { peerId } = c.req.valid('param')
  if (peerId === caller.userId) {
    throw new ApiError('validation_failed', 'A conversation needs two different members', {
      errors: [{ path: 'param.peerId', message: 'must not be your own id' }],
    })
  }
  const stub = c.env.CONVERSATION.getByName(conversationName(caller.userId, peerId))
  return (await forwardUpgrade(c, stub, caller)) as never
}

export const openHub: RouteHandler<typeof hubSocket, AuthedEnv> = async (c) => {
  const caller = c.get('caller')
  return (await forwardUpgrade(c, c.env.USER_HUB.getByName(caller.userId), caller)) as never
}
