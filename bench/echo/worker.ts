import { DurableObject } from 'cloudflare:workers'

/**
 * The chat bench's baseline: what chat over Durable Objects costs on this runtime when a message
 * is only numbered and passed on. It speaks enough of Rapport's client protocol for the bench's
 * own socket clients (bench/chat.ts) to run unchanged against it:
 *
 * - `GET /api/v1/conversations/:peerId/socket` opens the caller's socket in the pair's
 *   `EchoConversation` (named by the two ids in sorted order, as Rapport names its objects),
 *   which answers `hello`; a `send` frame gets an `ack` with the next sequence number, the peer's
 *   sockets get the `message`, and the peer's inbox object gets it too.
 * - `GET /api/v1/hub/socket` opens the caller's inbox socket in their `EchoHub`, which relays
 *   what conversations hand it.
 *
 * Same runtime features as Rapport's objects (hibernatable sockets with tags and attachments,
 * the ping auto-response, fire-and-forget RPC to the inbox object), none of Rapport's work: no
 * token check (the bearer token *is* the member id), no frame schema, no database, no rules.
 */

interface Env {
  ECHO_CONVERSATION: DurableObjectNamespace<EchoConversation>
  ECHO_HUB: DurableObjectNamespace<EchoHub>
}

const protocolName = 'rapport.v1'
const memberHeader = 'x-echo-member'
const conversationPath = /^\/api\/v1\/conversations\/([^/]+)\/socket$/

interface Identity {
  userId: string
  peerId: string
}

interface EchoMessage {
  seq: number
  clientId: string
  senderId: string
  body: string
  audioUrl: null
  reaction: null
  createdAt: string
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url)
    const userId = request.headers.get('authorization')?.replace(/^Bearer /, '')
    if (!userId) return new Response('missing bearer token', { status: 401 })
    const forward = new Request(request)
    forward.headers.set(memberHeader, userId)
    if (pathname === '/api/v1/hub/socket') return env.ECHO_HUB.getByName(userId).fetch(forward)
    const peerId = conversationPath.exec(pathname)?.[1]
    if (peerId) {
      const name = userId < peerId ? `${userId}:${peerId}` : `${peerId}:${userId}`
      return env.ECHO_CONVERSATION.getByName(name).fetch(forward)
    }
    return new Response('not found', { status: 404 })
  },
} satisfies ExportedHandler<Env>

/** Accept a hibernatable socket tagged with the member, answering with Rapport's subprotocol. */
function accept(ctx: DurableObjectState, identity: Identity): { client: WebSocket; server: WebSocket } {
  const { 0: client, 1: server } = new WebSocketPair()
  ctx.acceptWebSocket(server, [identity.userId])
  server.serializeAttachment(identity)
  return { client, server }
}

function upgraded(request: Request, client: WebSocket): Response {
  const offered = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim())
  const headers = offered.includes(protocolName) ? { 'Sec-WebSocket-Protocol': protocolName } : undefined
  return new Response(null, { status: 101, webSocket: client, headers })
}

export class EchoConversation extends DurableObject<Env> {
  /** Sequence numbers live in memory only: the baseline keeps nothing. */
  private seq = 0
  private readonly hubs = new Map<string, DurableObjectStub<EchoHub>>()

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'))
  }

  override async fetch(request: Request): Promise<Response> {
    const userId = request.headers.get(memberHeader)!
    const [a, b] = this.ctx.id.name!.split(':') as [string, string]
    const peerId = userId === a ? b : a
    const { client, server } = accept(this.ctx, { userId, peerId })
    const connected = this.ctx.getWebSockets(peerId).length > 0 ? [userId, peerId] : [userId]
    server.send(JSON.stringify({ type: 'hello', userId, connected }))
    return upgraded(request, client)
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    if (typeof data !== 'string') return
    const frame = JSON.parse(data) as { type?: string; clientId?: string; body?: string }
    if (frame.type !== 'send' || typeof frame.clientId !== 'string') return
    const { userId, peerId } = ws.deserializeAttachment() as Identity
    const createdAt = new Date().toISOString()
    const seq = ++this.seq
    ws.send(JSON.stringify({ type: 'ack', clientId: frame.clientId, seq, createdAt }))
    const message: EchoMessage = {
      seq,
      clientId: frame.clientId,
      senderId: userId,
      body: String(frame.body ?? ''),
      audioUrl: null,
      reaction: null,
      createdAt,
    }
    const out = JSON.stringify({ type: 'message', message })
    for (const socket of this.ctx.getWebSockets(userId)) if (socket !== ws) socket.send(out)
    for (const socket of this.ctx.getWebSockets(peerId)) socket.send(out)
    let hub = this.hubs.get(peerId)
    if (!hub) {
      hub = this.env.ECHO_HUB.getByName(peerId)
      this.hubs.set(peerId, hub)
    }
    this.ctx.waitUntil(hub.deliver({ type: 'message', peerId: userId, message, box: 'chats', unread: 1 }))
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason)
    } catch {
      // Already closed.
    }
  }
}

export class EchoHub extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'))
  }

  override async fetch(request: Request): Promise<Response> {
    const userId = request.headers.get(memberHeader)!
    const { client, server } = accept(this.ctx, { userId, peerId: userId })
    server.send(JSON.stringify({ type: 'hello', userId, connected: [] }))
    return upgraded(request, client)
  }

  /** A conversation's frame for this member's inbox sockets. */
  async deliver(frame: object): Promise<void> {
    const out = JSON.stringify(frame)
    for (const ws of this.ctx.getWebSockets()) ws.send(out)
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason)
    } catch {
      // Already closed.
    }
  }
}
