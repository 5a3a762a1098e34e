import type { z } from '@hono/zod-openapi'
import { DurableObject } from 'cloudflare:workers'
import type { Env } from '../src/env'
import {
  type ConversationClientFrameSchema,
  type HubClientFrameSchema,
  type ServerFrame,
  closeCodes,
  identityHeaders,
  parseClientFrame,
  protocolName,
} from '../src/services/chat/protocol'

/**
 * Who is on the other end of a socket. Stored as the socket's *attachment*: when the object
 * hibernates, its memory (and every field of the class) is thrown away, but the runtime keeps
 * the sockets open and hands each one back with its attachment when the next event arrives.
 * Anything a handler needs to know about a socket must therefore live here, not in a Map.
 */
export interface SocketIdentity {
  userId: string
  sessionId: string
  connectedAt: number
  /** When the access token presented at upgrade expires (seconds since the epoch), if known. */
  exp?: number
}

/**
 * Shared lifecycle of Rapport's socket-holding Durable Objects, built on the WebSocket
 * Hibernation API: `ctx.acceptWebSocket` (not `ws.accept()`) lets the runtime evict the object
 * from memory while sockets stay connected, so idle conversations cost nothing. Ping/pong is
 * answered by the runtime itself (`setWebSocketAutoResponse`) without waking the object.
 *
 * Subclasses name the client frames they accept (`clientFrames`, checked here before `onFrame`
 * sees them) and the frames they send, and decide what a connection means (`onConnect`), what
 * frames do (`onFrame`) and what a departure means (`onDisconnect`).
 *
 * **Pending work across events.** The rule that one request must never await I/O another request
 * started is a rule of the Worker's own requests: each has an I/O context of its own, and workerd
 * cancels a request that waits on another's. A Durable Object instance has one I/O context for all
 * of its events (socket messages, RPC calls, alarms), so its own queues and loads in flight — the
 * Conversation's serial queue and write queue, pair facts being loaded, the UserHub's presence
 * queue, the memo on its services object — may be awaited by a later event of the same object;
 * the socket tests (bursts from two members' sockets batched into one write, each acknowledged)
 * depend on it. None of these ever reaches a Worker request: what a caller gets back over RPC is a
 * settled value.
 */
export abstract class HibernatingSocketObject<
  Schema extends typeof ConversationClientFrameSchema | typeof HubClientFrameSchema,
  Out extends ServerFrame,
> extends DurableObject<Env> {
  protected abstract readonly clientFrames: Schema

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'))
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade', { status: 426 })
    }
    const userId = request.headers.get(identityHeaders.userId)
    const sessionId = request.headers.get(identityHeaders.sessionId)
    if (!userId || !sessionId) return new Response('missing identity', { status: 400 })

    const { 0: client, 1: server } = new WebSocketPair()
    const exp = Number(request.headers.get(identityHeaders.tokenExpiry))
    const identity: SocketIdentity = {
      userId,
      sessionId,
      connectedAt: Date.now(),
      ...(Number.isFinite(exp) && exp > 0 ? { exp } : {}),
    }
    // Tags let us find a user's sockets with ctx.getWebSockets(userId) after hibernation.
    this.ctx.acceptWebSocket(server, [userId])
    server.serializeAttachment(identity)
    await this.onConnect(server, identity)

    const offered = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim())
    const headers = offered.includes(protocolName) ? { 'Sec-WebSocket-Protocol': protocolName } : undefined
    return new Response(null, { status: 101, webSocket: client, headers })
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const identity = ws.deserializeAttachment() as SocketIdentity
    // Authentication happened once, at upgrade; a socket must not outlive the token it was opened
    // with by more than one frame. The client reconnects with a fresh token.
    if (identity.exp !== undefined && Date.now() >= identity.exp * 1000) {
      this.closeSocket(ws, closeCodes.tokenExpired, 'access token expired')
      return
    }
    if (typeof message !== 'string') {
      this.sendFrame(ws, { type: 'error', code: 'unsupported_media_type' } as Out)
      return
    }
    let value: unknown
    try {
      value = JSON.parse(message)
    } catch {
      this.sendFrame(ws, { type: 'error', code: 'malformed_body' } as Out)
      return
    }
    const parsed = parseClientFrame(this.clientFrames, value)
    if (!parsed.ok) return this.sendFrame(ws, parsed.error as Out)
    await this.onFrame(ws, identity, parsed.frame)
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Complete the closing handshake; 1005/1006 are reserved and may not be sent back.
    const closeCode = code === 1005 || code === 1006 ? 1000 : code
    try {
      ws.close(closeCode, reason)
    } catch {
      // Already closed by the runtime.
    }
    if (this.departed.has(ws)) return
    this.departed.add(ws)
    await this.onDisconnect(ws, ws.deserializeAttachment() as SocketIdentity)
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    if (this.departed.has(ws)) return
    this.departed.add(ws)
    await this.onDisconnect(ws, ws.deserializeAttachment() as SocketIdentity)
  }

  /**
   * Open sockets other than `except`, optionally only one user's. Survives hibernation (the
   * runtime holds them); sockets on their way out are left out.
   */
  protected sockets(opts: { userId?: string; except?: WebSocket } = {}): WebSocket[] {
    return this.ctx
      .getWebSockets(opts.userId)
      .filter((ws) => ws !== opts.except && ws.readyState === WebSocket.OPEN && !this.departed.has(ws))
  }

  /**
   * Close one member's sockets: those of `sessionId`, or all of them when it is null. For session
   * revocation (the UserHub relays it to every conversation the member has open).
   */
  protected closeSocketsOf(userId: string, sessionId: string | null, code: number, reason: string): number {
    let closed = 0
    for (const ws of this.sockets({ userId })) {
      const identity = ws.deserializeAttachment() as SocketIdentity
      if (sessionId !== null && identity.sessionId !== sessionId) continue
      this.closeSocket(ws, code, reason)
      closed++
    }
    return closed
  }

  /**
   * Close a socket from this side and run the departure logic now: the runtime does not deliver
   * a close event for a close the object started itself.
   */
  protected closeSocket(ws: WebSocket, code: number, reason: string): void {
    if (this.departed.has(ws)) return
    this.departed.add(ws)
    try {
      ws.close(code, reason)
    } catch {
      // Already closed.
    }
    this.ctx.waitUntil(this.onDisconnect(ws, ws.deserializeAttachment() as SocketIdentity))
  }

  /** Sockets whose departure has been handled, so a late close or error event does not repeat it. */
  private readonly departed = new WeakSet<WebSocket>()

  /** Send one frame; a socket that has gone away is skipped (its close event cleans up). */
  protected sendFrame(ws: WebSocket, frame: Out): void {
    try {
      ws.send(JSON.stringify(frame))
    } catch {
      // The peer went away between lookup and send; its close event cleans up.
    }
  }

  protected abstract onConnect(ws: WebSocket, identity: SocketIdentity): Promise<void>
  protected abstract onFrame(ws: WebSocket, identity: SocketIdentity, frame: z.infer<Schema>): Promise<void>
  protected abstract onDisconnect(ws: WebSocket, identity: SocketIdentity): Promise<void>
}
