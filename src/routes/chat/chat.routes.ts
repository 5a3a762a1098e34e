import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { pageSchema, paginationQuery } from '../../lib/http/pagination'
import { requireOnboarded } from '../../middleware/account-status'
import { requireAuth } from '../../middleware/auth'
import { ChatMessageSchema, maxHistoryPage } from '../../services/chat/history'
import { ConversationHeaderSchema, InboxEntrySchema, inboxBoxValues } from '../../services/chat/inbox'

const tags = ['Chat']
const security = [{ bearerAuth: [] }]

/** `{peerId}`: the other member of a conversation, any letter case. */
export const peerParams = z.object({
  peerId: z
    .uuid()
    .toLowerCase()
    .openapi({ description: 'The other member', example: '0f8fad5b-d9cb-469f-a165-70867728950e' }),
})

const seq = (description: string) =>
  z.coerce
    .number()
    .int()
    .min(0)
    .max(Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ param: { description }, example: 120 })

export const listInbox = createRoute({
  method: 'get',
  path: '/api/v1/inbox',
  operationId: 'listInbox',
  tags,
  summary: 'My conversations in one box, newest first',
  description:
    '`intros`: first messages I have not answered; `chats`: the rest; `archive`: conversations with members ' +
    'who are gone or hidden from me (deleted, deactivated, shadow-banned, or a skip either way), masked.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: {
    query: paginationQuery.extend({
      box: z
        .enum(inboxBoxValues)
        .default('chats')
        .openapi({ param: { description: 'Which box' }, example: 'chats' }),
    }),
  },
  responses: {
    200: {
      description: 'A page of conversations',
      content: { 'application/json': { schema: pageSchema(InboxEntrySchema, 'InboxPage') } },
    },
    ...errorResponses(401, 409, 422, 429),
  },
})

export const listMessages = createRoute({
  method: 'get',
  path: '/api/v1/conversations/{peerId}/messages',
  operationId: 'listMessages',
  tags,
  summary: 'A page of messages in my conversation with a member',
  description:
    'Without `before`/`after`: the newest page. `before=<seq>`: the page just older than that message (scrolling ' +
    'back). `after=<seq>`: what came after it (catching up). Messages are ascending by `seq` either way. 404 when ' +
    'we never talked.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: {
    params: peerParams,
    query: z.object({
      before: seq('Messages with a lower sequence number than this'),
      after: seq('Messages with a higher sequence number than this'),
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(maxHistoryPage)
        .default(maxHistoryPage)
        .openapi({ param: { description: `1–${maxHistoryPage}` }, example: maxHistoryPage }),
    }),
  },
  responses: {
    200: {
      description: 'Messages, ascending',
      content: {
        'application/json': {
          schema: z
            .object({
              data: z.array(ChatMessageSchema),
              has_more: z.boolean().openapi({ description: 'Another page lies further in that direction' }),
            })
            .openapi('MessagePage'),
        },
      },
    },
    ...errorResponses(401, 404, 409, 422, 429),
  },
})

export const markRead = createRoute({
  method: 'post',
  path: '/api/v1/conversations/{peerId}/read',
  operationId: 'markConversationRead',
  tags,
  summary: 'Mark my conversation with a member read',
  description:
    'Sets my unread count to 0 (the same as a `read` frame on the conversation socket; the other member gets a read ' +
    'receipt when their tier has that feature). 404 when we never talked.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { params: peerParams },
  responses: {
    200: {
      description: 'Read up to this message',
      content: {
        'application/json': {
          schema: z.object({ readSeq: z.number().int() }).openapi('ReadMarker'),
        },
      },
    },
    ...errorResponses(401, 404, 409, 422, 429),
  },
})

export const conversationHeader = createRoute({
  method: 'get',
  path: '/api/v1/conversations/{peerId}/header',
  operationId: 'getConversationHeader',
  tags,
  summary: 'Who a conversation is with, and whether I can message them',
  description:
    'Name, slug and first photo of the member (masked when they are gone or hidden from me), whether I can ' +
    'message them and whether I skipped them. Unlike viewing their profile, records no visit.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { params: peerParams },
  responses: {
    200: { description: 'The header', content: { 'application/json': { schema: ConversationHeaderSchema } } },
    ...errorResponses(401, 404, 409, 422, 429),
  },
})
