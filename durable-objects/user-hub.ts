import { HibernatingSocketObject, type SocketIdentity } from './hibernation'

/**
 * One Durable Object per member: their inbox/presence socket(s), one per signed-in device.
 * Conversations notify it of activity elsewhere (new messages, typing), and it will hold the
 * presence subscriptions the member asked for. Today it implements the connection lifecycle:
 * a `hello` frame with how many of the member's devices are connected, and an error for frames
 * it does not understand.
 */
export class UserHub extends HibernatingSocketObject {
  protected async onConnect(ws: WebSocket, identity: SocketIdentity): Promise<void> {
    this.send(ws, {
      type: 'hello',
      userId: identity.userId,
      devices: this.sockets({ userId: identity.userId }).length,
    })
  }

  protected async onFrame(ws: WebSocket, _identity: SocketIdentity, frame: { type: string }): Promise<void> {
    this.send(ws, { type: 'error', code: 'unsupported_frame', frameType: frame.type })
  }

  protected async onDisconnect(): Promise<void> {
    // Nothing is held per socket outside its attachment, so there is nothing to release.
  }
}
