import { z } from '@hono/zod-openapi'
import type { ErrorCode } from '../../lib/http/errors'
import { uuidPattern } from '../../lib/ids'
import { isStorable, unstorablePath } from '../../lib/storable'
import { VisitSchema } from '../profiles/visits'
import { expoTokenPattern } from '../push/expo'
import { ChatMessageSchema } from './history'
import { UnreadTotalsSchema, inboxBoxValues } from './inbox'
import { maxPresenceSubscriptions, presenceStatusValues } from './presence'
import { isReactionEmoji, maxClientIdChars } from './rules'

/**
 * The chat wire protocol, in one place: every frame a client may send (checked here, so the
 * Durable Objects never look at raw JSON), every frame the server sends, the error codes (the
 * REST `ErrorCode` vocabulary), the subprotocol, close codes and the Durable Object names.
 * docs/chat-protocol.md describes the same frames for client authors.
 */

/** The subprotocol Rapport's sockets speak; echoed back when the client offered it. */
export const protocolName = 'rapport.v1'

/**
 * Close codes Rapport's sockets use (4000–4999 is the application range). A client that sees
 * either should get a fresh access token (refreshing, or signing in again) and reconnect.
 */
export const closeCodes = {
  /** A frame arrived after the access token presented at upgrade had expired. */
  tokenExpired: 4001,
  /** The session was revoked (sign-out, another device's "sign out everywhere", ban, deletion). */
  sessionRevoked: 4003,
} as const

/** Headers the Worker sets after authenticating the upgrade; clients never reach an object directly. */
export const identityHeaders = {
  userId: 'X-Rapport-User-Id',
  sessionId: 'X-Rapport-Session-Id',
  tokenExpiry: 'X-Rapport-Token-Exp',
} as const

/** The Durable Object name of the conversation between two members: order-independent. */
export function conversationName(a: string, b: string): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`
}

/** The two members a conversation object's name stands for, or null for any other name. */
export function conversationMembers(name: string): [string, string] | null {
  const [a, b, ...rest] = name.split(':')
  const id = (x: string | undefined): x is string => !!x && uuidPattern.test(x) && x === x.toLowerCase()
  return id(a) && id(b) && rest.length === 0 ? [a, b] : null
}

// -----------------------------------------------------------------------------------------------
// Errors

/** A send, react or read the chat rules refused; the same code REST answers with. */
export const chatRefusalCodes = [
  'blocked',
  'not_found',
  'message_too_long',
  'rate_limited',
  'not_unique',
  'spam',
  'verification_required',
] as const satisfies readonly ErrorCode[]
export type ChatRefusalCode = (typeof chatRefusalCodes)[number]

/**
 * Frame-level failures: `validation_failed` (a field is missing or wrong, with `path`),
 * `bad_request` (an unknown frame type), `malformed_body` (not a JSON object),
 * `unsupported_media_type` (a binary frame), `service_unavailable` (the database could not be
 * reached; nothing was stored).
 */
export const frameErrorCodes = [
  'validation_failed',
  'bad_request',
  'malformed_body',
  'unsupported_media_type',
  'service_unavailable',
] as const satisfies readonly ErrorCode[]
export type FrameErrorCode = (typeof frameErrorCodes)[number]

/**
 * A `push-token` frame the push-target rules refused; the codes `PUT
 * /api/v1/me/sessions/{id}/push-token` answers with (`conflict`: a web session, which registers a
 * browser subscription instead).
 */
export const pushTokenRefusalCodes = [
  'conflict',
  'forbidden',
  'not_found',
] as const satisfies readonly ErrorCode[]
export type PushTokenRefusalCode = (typeof pushTokenRefusalCodes)[number]

/**
 * How a rate-limited member can raise their limit: verify (the daily intro limit), wait for
 * tomorrow's, or `slow-down` (the per-conversation flood limit).
 */
export const introLimitSubreasonValues = ['verify-basics', 'verify-photos', 'wait', 'slow-down'] as const
export type IntroLimitSubreason = (typeof introLimitSubreasonValues)[number]

/** A refusal as the Conversation object reports it, over RPC and in an `error` frame. */
export interface ChatError {
  code: ChatRefusalCode
  clientId?: string
  message: string
  subreason?: IntroLimitSubreason
  /** Seconds until another intro is possible (rate_limited). */
  retryAfter?: number
  /** Estimated number of times the same intro was sent before (not_unique). */
  usedCount?: number
}

export const ErrorFrameSchema = z.object({
  type: z.literal('error'),
  code: z.enum([...chatRefusalCodes, ...frameErrorCodes, ...pushTokenRefusalCodes]),
  message: z.string().optional(),
  /** The frame's type, for frame-level failures. */
  frameType: z.string().optional(),
  /** The offending field of a `validation_failed` frame. */
  path: z.string().optional(),
  clientId: z.string().optional(),
  seq: z.number().int().optional(),
  subreason: z.enum(introLimitSubreasonValues).optional(),
  retryAfter: z.number().int().optional(),
  usedCount: z.number().int().optional(),
})
export type ErrorFrame = z.infer<typeof ErrorFrameSchema>

// -----------------------------------------------------------------------------------------------
// Client → server

const seqFrom = (min: number) => z.int().min(min)
const MemberIdSchema = z.string().regex(uuidPattern)

/** What a client may send on a conversation socket. A field's description is its error text. */
export const ConversationClientFrameSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('send'),
    clientId: z
      .string()
      .min(1)
      .max(maxClientIdChars)
      .describe(`a string of 1–${maxClientIdChars} characters`),
    body: z.string().min(1).describe('a non-empty string'),
  }),
  z.object({ type: z.literal('resume'), afterSeq: seqFrom(0).describe('an integer ≥ 0') }),
  z.object({ type: z.literal('history'), beforeSeq: seqFrom(1).nullish().describe('an integer ≥ 1') }),
  z.object({ type: z.literal('typing') }),
  z.object({ type: z.literal('read'), seq: seqFrom(0).nullish().describe('an integer ≥ 0') }),
  z.object({
    type: z.literal('react'),
    seq: seqFrom(1).describe('an integer ≥ 1'),
    emoji: z.string().refine(isReactionEmoji).describe("one emoji, or '' to clear"),
  }),
])
export type ConversationClientFrame = z.infer<typeof ConversationClientFrameSchema>

const MemberIdsSchema = z
  .array(MemberIdSchema)
  .max(maxPresenceSubscriptions)
  .describe(`an array of at most ${maxPresenceSubscriptions} member ids`)

/**
 * What a client may send on the inbox socket. `push-token` registers (or, with `""`, clears) the
 * Expo push token of the socket's own session, as `PUT /api/v1/me/sessions/{id}/push-token` does.
 */
export const HubClientFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), userIds: MemberIdsSchema }),
  z.object({ type: z.literal('unsubscribe'), userIds: MemberIdsSchema }),
  z.object({
    type: z.literal('push-token'),
    token: z
      .union([z.literal(''), z.string().max(256).regex(expoTokenPattern)])
      .describe('an Expo push token (ExponentPushToken[…]), or "" to clear'),
  }),
])
export type HubClientFrame = z.infer<typeof HubClientFrameSchema>

type FrameUnion = typeof ConversationClientFrameSchema | typeof HubClientFrameSchema

/**
 * A parsed JSON value checked against a socket's client frames: the frame, or the error frame to
 * answer with (naming the first offending field).
 *
 * @example
 * parseClientFrame(ConversationClientFrameSchema, { type: 'resume' })
 * // { ok: false, error: { type: 'error', code: 'validation_failed', frameType: 'resume', path: 'afterSeq', … } }
 */
export function parseClientFrame<S extends FrameUnion>(
  schema: S,
  value: unknown,
): { ok: true; frame: z.infer<S> } | { ok: false; error: ErrorFrame } {
  const type = (value as { type?: unknown } | null)?.type
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof type !== 'string') {
    return { ok: false, error: { type: 'error', code: 'malformed_body' } }
  }
  const clientId = (value as { clientId?: unknown }).clientId
  const invalid = (path: string, message: string) => ({
    ok: false as const,
    error: {
      type: 'error' as const,
      code: 'validation_failed' as const,
      frameType: type,
      ...(typeof clientId === 'string' && isStorable(clientId) ? { clientId } : {}),
      path,
      message,
    },
  })
  // Strings the database cannot store (NUL, lone surrogates) are refused before anything else.
  const unstorable = unstorablePath(value)
  if (unstorable) return invalid(unstorable.join('.'), 'must not contain NUL or an unpaired surrogate')
  const option = schema.options.find((o) => o.shape.type.value === type)
  if (!option) return { ok: false, error: { type: 'error', code: 'bad_request', frameType: type } }
  const parsed = option.safeParse(value)
  if (parsed.success) return { ok: true, frame: parsed.data as z.infer<S> }
  const path = String(parsed.error.issues[0]?.path[0] ?? 'type')
  const field = (option.shape as Record<string, z.ZodType | undefined>)[path]
  return invalid(path, `${path} must be ${field?.description ?? 'valid'}`)
}

// -----------------------------------------------------------------------------------------------
// Server → client

/**
 * A member's presence, the one shape both sockets use: `online` while present (on the inbox
 * socket: anywhere; on a conversation socket: in this conversation), `recently-online` once they
 * left, `offline` (subscription answers only) after 12 hours away or when hidden.
 */
export const PresenceFrameSchema = z.object({
  type: z.literal('presence'),
  userId: z.uuid(),
  status: z.enum(presenceStatusValues),
})

export const AckFrameSchema = z.object({
  type: z.literal('ack'),
  clientId: z.string(),
  seq: z.number().int(),
  createdAt: z.iso.datetime(),
})

/** Conversation socket frames. */
export const ConversationServerFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), userId: z.uuid(), connected: z.array(z.uuid()) }),
  PresenceFrameSchema,
  AckFrameSchema,
  z.object({ type: z.literal('message'), message: ChatMessageSchema }),
  z.object({ type: z.literal('resumed'), lastSeq: z.number().int(), complete: z.boolean() }),
  z.object({
    type: z.literal('history'),
    beforeSeq: z.number().int().nullable(),
    messages: z.array(ChatMessageSchema),
    more: z.boolean(),
  }),
  z.object({ type: z.literal('typing'), userId: z.uuid() }),
  z.object({ type: z.literal('read'), seq: z.number().int(), readAt: z.iso.datetime() }),
  z.object({ type: z.literal('read-marker'), seq: z.number().int() }),
  z.object({
    type: z.literal('reaction'),
    seq: z.number().int(),
    emoji: z.string().nullable(),
    userId: z.uuid(),
  }),
  ErrorFrameSchema,
])
export type ConversationServerFrame = z.infer<typeof ConversationServerFrameSchema>

/** Frames other objects hand to a member's UserHub (`deliver`), which sends them to every inbox socket. */
export const HubDeliveryFrameSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('message'),
    peerId: z.uuid(),
    message: ChatMessageSchema,
    box: z.enum(inboxBoxValues),
    unread: z.number().int(),
  }),
  z.object({ type: z.literal('typing'), peerId: z.uuid() }),
  z.object({ type: z.literal('read'), peerId: z.uuid(), seq: z.number().int() }),
  /** The member's own marker moved on another device: clear that conversation's badge. */
  z.object({ type: z.literal('read-marker'), peerId: z.uuid(), seq: z.number().int() }),
  VisitSchema.extend({ type: z.literal('visitor') }),
  PresenceFrameSchema,
])
export type HubDeliveryFrame = z.infer<typeof HubDeliveryFrameSchema>

/** Inbox socket frames: the deliveries plus the hub's own answers. */
export const HubServerFrameSchema = z.discriminatedUnion('type', [
  ...HubDeliveryFrameSchema.options,
  z.object({
    type: z.literal('hello'),
    userId: z.uuid(),
    devices: z.number().int(),
    unread: UnreadTotalsSchema.nullable(),
  }),
  z.object({
    type: z.literal('subscribed'),
    statuses: z.record(z.string(), z.enum(presenceStatusValues)),
    refused: z.array(z.uuid()),
    evicted: z.array(z.uuid()),
  }),
  z.object({ type: z.literal('unsubscribed'), userIds: z.array(z.uuid()) }),
  z.object({ type: z.literal('push-token-registered'), token: z.string(), updatedAt: z.iso.datetime() }),
  z.object({ type: z.literal('push-token-cleared') }),
  ErrorFrameSchema,
])
export type HubServerFrame = z.infer<typeof HubServerFrameSchema>

export type ServerFrame = ConversationServerFrame | HubServerFrame
