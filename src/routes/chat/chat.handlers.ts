import type { RouteHandler } from '@hono/zod-openapi'
import { conversationName } from '../../services/chat/protocol'
import { ApiError } from '../../lib/http/errors'
import { messagesAfter, messagesBefore } from '../../services/chat/history'
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
  if (!(await inbox.conversationExists(s, me, peerId))) throw noConversation()
  if (after !== undefined) {
    const rows = await messagesAfter(s, me, peerId, after, limit + 1)
    return c.json({ data: rows.slice(0, limit), has_more: rows.length > limit }, 200)
  }
  const data = await messagesBefore(s, me, peerId, before ?? null, limit)
  const hasMore = data.length === limit && (await messagesBefore(s, me, peerId, data[0]!.seq, 1)).length > 0
  return c.json({ data, has_more: hasMore }, 200)
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
