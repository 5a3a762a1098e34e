import { HibernatingSocketObject, type SocketIdentity } from './hibernation'

/**
 * One Durable Object per pair of members (named by their two ids in sorted order, see
 * `conversationName`), holding both members' sockets for that conversation. Because every
 * socket of the pair lands in the same object, sends are naturally serialized: the object
 * processes one event at a time, which is what later lets it hand out gap-free sequence
 * numbers.
 *
 * Today it implements the connection lifecycle: a `hello` frame listing who is connected,
 * `presence` frames to the other member when someone joins or leaves, and an error for frames
 * it does not understand. Messages, acks and resume arrive with the chat protocol.
 */
export class Conversation extends HibernatingSocketObject {
  protected async onConnect(ws: WebSocket, identity: SocketIdentity): Promise<void> {
    const connected = [
      ...new Set(this.sockets().map((s) => (s.deserializeAttachment() as SocketIdentity).userId)),
    ]
    this.send(ws, { type: 'hello', userId: identity.userId, connected })
    this.broadcastPresence(identity.userId, true, ws)
  }

  protected async onFrame(ws: WebSocket, _identity: SocketIdentity, frame: { type: string }): Promise<void> {
    this.send(ws, { type: 'error', code: 'unsupported_frame', frameType: frame.type })
  }

  protected async onDisconnect(ws: WebSocket, identity: SocketIdentity): Promise<void> {
    // A member with another tab still open has not left.
    if (this.sockets({ userId: identity.userId, except: ws }).length === 0) {
      this.broadcastPresence(identity.userId, false, ws)
    }
  }

  private broadcastPresence(userId: string, online: boolean, origin: WebSocket) {
    for (const other of this.sockets({ except: origin })) {
      if ((other.deserializeAttachment() as SocketIdentity).userId !== userId) {
        this.send(other, { type: 'presence', userId, online })
      }
    }
  }
}

/** The Durable Object name of the conversation between two members: order-independent. */
export function conversationName(a: string, b: string): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`
}
