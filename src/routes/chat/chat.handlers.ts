import type { RouteHandler } from '@hono/zod-openapi'
import { conversationName } from '../../services/chat/protocol'
import { ApiError } from '../../lib/http/errors'
import { messagesAfterQuery, messagesBeforeQuery, toChatMessage } from '../../services/chat/history'
import * as inbox from '../../services/chat/inbox'
import type { AuthedEnv } from '../../types'
import type * as routes from './chat.routes'

const notYourself = () =>
  new ApiError('validation_failed', 'A conversation needs two different members', {
    errors: [{ path: 'param.peerId', message: 'must not be your own id' }],
  })

const noConversation = () => new ApiError('not_found', 'You have no conversation with this member')

export const listInbox: RouteHandler<typeof routes.listInbox, AuthedEnv> = async (c) => {
  const { box, ...page } = c.req.valid('query')
  return c.json(await inbox.listInbox(c.get('services'), c.get('caller').userId, box, page), 200)
}

export const listMessages: RouteHandler<typeof routes.listMessages, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const me = c.get('caller').userId
  const { peerId } = c.req.valid('param')
  const { before, after, limit } = c.req.valid('query')
  if (peerId === me) throw notYourself()
  if (before !== undefined && after !== undefined) {
    throw new ApiError('validation_failed', 'Give `before` or `after`, not both', {
      errors: [{ path: 'query.after', message: 'not allowed together with before' }],
    })
  }
  // One round trip: the conversation check and the page (one row more than asked, which tells
  // whether another page follows) in one HTTP batch.
  const { db } = s.database
  const page =
    after !== undefined
      ? messagesAfterQuery(s, me, peerId, after, limit + 1)
      : messagesBeforeQuery(s, me, peerId, before ?? null, limit + 1)
  const [entry, rows] = await db.batch([inbox.conversationExistsQuery(s, me, peerId), page])
  if (entry.length === 0) throw noConversation()
  const hasMore = rows.length > limit
  const kept = rows.slice(0, limit)
  // `before` pages come newest first from the statement; the page is ascending either way.
  if (after === undefined) kept.reverse()
  return c.json({ data: kept.map((row) => toChatMessage(s, row)), has_more: hasMore }, 200)
}

export const markRead: RouteHandler<typeof routes.markRead, AuthedEnv> = async (c) => {
  const me = c.get('caller').userId
  const { peerId } = c.req.valid('param')
  if (peerId === me) throw notYourself()
  if (!(await inbox.conversationExists(c.get('services'), me, peerId))) throw noConversation()
  const { readSeq } = await c.env.CONVERSATION.getByName(conversationName(me, peerId)).markRead(me)
  return c.json({ readSeq }, 200)
}

export const conversationHeader: RouteHandler<typeof routes.conversationHeader, AuthedEnv> = async (c) => {
  const me = c.get('caller').userId
  const { peerId } = c.req.valid('param')
  if (peerId === me) throw notYourself()
  return c.json(await inbox.conversationHeader(c.get('services'), me, peerId), 200)
}
