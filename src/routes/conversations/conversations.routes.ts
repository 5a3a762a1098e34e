import { createRoute, z } from '@hono/zod-openapi'
import { ProblemSchema, errorResponses, jsonBody } from '../../lib/http/openapi'
import { problemContentType } from '../../lib/http/problem'
import { uploadBody, uploadBodyLimit } from '../../lib/http/upload'
import { requireOnboarded } from '../../middleware/account-status'
import { requireAuth } from '../../middleware/auth'
import { maxBodyChars, maxClientIdChars } from '../../services/chat/rules'
import { maxVoiceMessageMs } from '../../services/chat/send'
import { peerParams } from '../chat/chat.routes'

const tags = ['Chat']
const security = [{ bearerAuth: [] }]

const clientId = z.string().min(1).max(maxClientIdChars).openapi({
  description: 'Your idempotency key for this message: sending it again returns the same acknowledgement',
  example: '7d0a4e5c-2b1f-4a44-9f59-0c5d1f2b8e21',
})

export const AckSchema = z
  .object({
    clientId: z.string(),
    seq: z
      .number()
      .int()
      .openapi({ description: 'The message’s sequence number in the conversation', example: 42 }),
    createdAt: z.iso.datetime(),
  })
  .openapi('MessageAck')

/** A chat refusal: the problem body plus what the client needs to explain it. */
const ChatProblemSchema = ProblemSchema.extend({
  subreason: z.enum(['verify-basics', 'verify-photos', 'wait']).optional().openapi({
    description: 'rate_limited: how to raise the daily limit of new people written to',
  }),
  usedCount: z.number().int().optional().openapi({
    description: 'not_unique: about how many times this opener was used before',
  }),
}).openapi('ChatProblem')

const chatProblem = (description: string) => ({
  description,
  content: { [problemContentType]: { schema: ChatProblemSchema } },
})

const refusals = {
  403: chatProblem(
    '`blocked` (a skip either way, or the member is deactivated), `verification_required` (verify your account ' +
      'first) or `spam` (a link in an intro from a new account)',
  ),
  409: chatProblem(
    '`not_unique`: this intro was used before (`usedCount`) — or `onboarding_required`: finish onboarding first',
  ),
  429: chatProblem(
    '`rate_limited`: the API rate limit, or the daily limit of new people written to (with `subreason` and ' +
      'Retry-After)',
  ),
}

const rules =
  `Rules, in order: a skip either way or a deactivated member → 403 \`blocked\`; an account moderation asked to ` +
  `verify → 403 \`verification_required\`; more than ${maxBodyChars} characters → 422 \`message_too_long\`. An *intro* ` +
  `(the member has never written to you) with a link, from an account younger than a day (6 h with basic ` +
  `verification, 2 h 40 min with photo verification) → 403 \`spam\`; writing to someone new beyond today's limit ` +
  `(15 / 30 / 60 by verification level, halved per report against you this week) → 429 \`rate_limited\` with ` +
  `\`subreason\`; an intro anyone has sent before (compared lower-cased, letters and digits only, repeats ` +
  `collapsed) → 409 \`not_unique\`. The message is delivered live to both members' sockets (docs/chat-protocol.md).`

export const sendMessage = createRoute({
  method: 'post',
  path: '/api/v1/conversations/{peerId}/messages',
  operationId: 'sendMessage',
  tags,
  summary: 'Send a message',
  description: `The REST twin of the conversation socket's \`send\` frame; the same \`clientId\` again returns the same acknowledgement and never stores a second message. ${rules}`,
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: {
    params: peerParams,
    body: jsonBody(
      z
        .object({
          clientId,
          body: z
            .string()
            .min(1)
            // The limit itself is checked with the chat rules (422 `message_too_long`).
            .openapi({
              maxLength: maxBodyChars,
              description: `At most ${maxBodyChars} characters`,
              example: 'Hi!',
            }),
        })
        .openapi('SendMessage'),
    ),
  },
  responses: {
    201: {
      description: 'Stored (or stored before, under this clientId)',
      content: { 'application/json': { schema: AckSchema } },
    },
    ...errorResponses(401, 404, 422, 503),
    ...refusals,
  },
})

export const sendVoiceMessage = createRoute({
  method: 'put',
  path: '/api/v1/conversations/{peerId}/voice',
  operationId: 'sendVoiceMessage',
  tags,
  summary: 'Send a voice message',
  description:
    `A recording of at most ${maxVoiceMessageMs / 1000} seconds and 10 MB as the raw body, in the voice bio's formats ` +
    `(AAC in MP4/M4A or ADTS, MP3, Opus in Ogg or WebM); 415 for anything else, 422 for a damaged or over-long file. ` +
    `Stored as uploaded and sent as a message with the body "Voice message" and an \`audioUrl\`. PUT because the ` +
    `\`client_id\` makes it idempotent. ${rules.replace(/; more than \d+ characters → 422 `message_too_long`/, '')}`,
  security,
  middleware: [requireAuth, requireOnboarded, uploadBodyLimit] as const,
  request: {
    params: peerParams,
    query: z.object({ client_id: clientId }),
    body: uploadBody('The recording.', [
      'audio/mp4',
      'audio/aac',
      'audio/mpeg',
      'audio/ogg',
      'audio/webm',
      'application/octet-stream',
    ]),
  },
  responses: {
    201: {
      description: 'Sent (or sent before, under this client_id)',
      content: {
        'application/json': {
          schema: AckSchema.extend({ audioUrl: z.string().nullable() }).openapi('VoiceMessageAck'),
        },
      },
    },
    ...errorResponses(401, 404, 413, 415, 422, 503),
    ...refusals,
  },
})
