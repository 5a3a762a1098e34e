import type { RouteHandler } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { and, eq } from 'drizzle-orm'
import { type ChatError, conversationName } from '../../services/chat/protocol'
import { messages } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { mediaUrl } from '../../services/media/media-url'
import { readUpload } from '../../lib/http/upload'
import type { Services } from '../../services'
import { pairOf } from '../../services/chat/history'
import { queueAudioDeletion, storeVoiceMessage } from '../../services/chat/send'
import type { AuthedEnv } from '../../types'
import type * as routes from './conversations.routes'

/**
 * A refusal as a problem, with the fields the client needs to explain it (`subreason`,
 * `usedCount`) and Retry-After for the intro and flood limits.
 */
function refusal(error: ChatError): ApiError {
  return new ApiError(error.code, error.message, {
    errors: error.code === 'message_too_long' ? [{ path: 'json.body', message: error.message }] : undefined,
    headers: error.retryAfter === undefined ? undefined : { 'Retry-After': String(error.retryAfter) },
    extensions: {
      ...(error.subreason ? { subreason: error.subreason } : {}),
      ...(error.usedCount !== undefined ? { usedCount: error.usedCount } : {}),
    },
  })
}

function peerOf(c: Context<AuthedEnv>, peerId: string): string {
  if (peerId === c.get('caller').userId) {
    throw new ApiError('validation_failed', 'A conversation needs two different members', {
      errors: [{ path: 'param.peerId', message: 'must not be your own id' }],
    })
  }
  return peerId
}

export const sendMessage: RouteHandler<typeof routes.sendMessage, AuthedEnv> = async (c) => {
  const me = c.get('caller').userId
  const peerId = peerOf(c, c.req.valid('param').peerId)
  const { clientId, body } = c.req.valid('json')
  const result = await c.env.CONVERSATION.getByName(conversationName(me, peerId)).send({
    senderId: me,
    clientId,
    body,
  })
  if (!result.ok) throw refusal(result.error)
  return c.json(result.ack, 201)
}

/** The stored voice message under this client id, if any, and its recording's key. */
async function storedVoice(s: Services, me: string, peerId: string, clientId: string) {
  const { memberA, memberB } = pairOf(me, peerId)
  const [row] = await s.database.db
    .select({ seq: messages.seq, createdAt: messages.createdAt, audioKey: messages.audioKey })
    .from(messages)
    .where(
      and(
        eq(messages.memberA, memberA),
        eq(messages.memberB, memberB),
        eq(messages.senderId, me),
        eq(messages.clientId, clientId),
      ),
    )
  return row
}

export const sendVoiceMessage: RouteHandler<typeof routes.sendVoiceMessage, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const me = c.get('caller').userId
  const peerId = peerOf(c, c.req.valid('param').peerId)
  const { client_id: clientId } = c.req.valid('query')
  const respond = (row: { seq: number; createdAt: Date | string; audioKey: string | null }) =>
    c.json(
      {
        clientId,
        seq: row.seq,
        createdAt: new Date(row.createdAt).toISOString(),
        audioUrl: row.audioKey ? mediaUrl(s.config, 'audio', row.audioKey) : null,
      },
      201,
    )

  const bytes = await readUpload(c)
  // A resend after a lost response: answer from the row, without storing the recording again.
  const before = await storedVoice(s, me, peerId, clientId)
  if (before) return respond(before)

  const audioKey = await storeVoiceMessage(s, bytes)
  let result
  try {
    result = await c.env.CONVERSATION.getByName(conversationName(me, peerId)).send({
      senderId: me,
      clientId,
      body: 'Voice message',
      audioKey,
    })
  } catch (err) {
    await queueAudioDeletion(s, audioKey)
    throw err
  }
  if (!result.ok) {
    await queueAudioDeletion(s, audioKey)
    throw refusal(result.error)
  }
  if (!result.created) {
    // Lost a race with another upload under this client id: that one's recording is the message.
    await queueAudioDeletion(s, audioKey)
    const stored = await storedVoice(s, me, peerId, clientId)
    if (stored) return respond(stored)
  }
  return respond({ seq: result.ack.seq, createdAt: result.ack.createdAt, audioKey })
}
