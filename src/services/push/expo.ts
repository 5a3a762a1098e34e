import { z } from 'zod'
import type { Config } from '../../config'

/**
 * Expo's push service over plain `fetch` (the official `expo-server-sdk` needs Node APIs).
 * `POST <base>/send` takes at most {@link expoSendLimit} messages and answers one ticket per
 * message, in order; `POST <base>/getReceipts` takes at most {@link expoReceiptLimit} ticket ids.
 * The base URL is configurable (EXPO_PUSH_URL) so the local stack reaches its fake by the same
 * code path as production reaches exp.host.
 */
export const expoSendLimit = 100
export const expoReceiptLimit = 1000

/** `ExponentPushToken[…]` (or the newer `ExpoPushToken[…]`), as the Expo SDK hands them out. */
export const expoTokenPattern = /^Expo(?:nent)?PushToken\[[A-Za-z0-9_-]{8,200}\]$/

export interface ExpoMessage {
  to: string
  title: string
  body: string
  data?: Record<string, unknown>
  sound?: 'default' | null
  priority?: 'default' | 'normal' | 'high'
  ttl?: number
  channelId?: string
}

const TicketSchema = z.union([
  z.object({ status: z.literal('ok'), id: z.string().min(1) }),
  z.object({
    status: z.literal('error'),
    message: z.string().default(''),
    details: z.object({ error: z.string().optional() }).passthrough().optional(),
  }),
])
export type ExpoTicket = z.infer<typeof TicketSchema>

const ReceiptSchema = z.union([
  z.object({ status: z.literal('ok') }).passthrough(),
  z.object({
    status: z.literal('error'),
    message: z.string().default(''),
    details: z.object({ error: z.string().optional() }).passthrough().optional(),
  }),
])
export type ExpoReceipt = z.infer<typeof ReceiptSchema>

/**
 * A whole-request failure. `retryable` for 429, 5xx and network failures (back off and send the
 * same messages again); anything else (400 with `errors`, 401 bad access token) will fail the
 * same way every time.
 */
export class ExpoRequestError extends Error {
  override name = 'ExpoRequestError'
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryable: boolean,
    readonly retryAfterSeconds?: number,
  ) {
    super(message)
  }
}

const timeoutMs = 15_000

async function post(config: Config['push'], path: string, body: unknown): Promise<unknown> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
  }
  if (config.expoAccessToken) headers.authorization = `Bearer ${config.expoAccessToken}`
  let res: Response
  try {
    res = await fetch(`${config.expoUrl}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (err) {
    throw new ExpoRequestError(`Expo unreachable: ${String(err)}`, null, true)
  }
  const text = await res.text()
  if (!res.ok) {
    const retryAfter = Number(res.headers.get('retry-after'))
    throw new ExpoRequestError(
      `Expo answered ${res.status}: ${text.slice(0, 300)}`,
      res.status,
      res.status === 429 || res.status >= 500,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    )
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new ExpoRequestError('Expo answered with something other than JSON', res.status, true)
  }
}

/**
 * Send up to {@link expoSendLimit} messages in one request; the tickets come back in order.
 *
 * @example
 * const [ticket] = await sendExpoMessages(s.config.push, [{ to: token, title: 'Hi', body: '…' }])
 */
export async function sendExpoMessages(
  config: Config['push'],
  messages: ExpoMessage[],
): Promise<ExpoTicket[]> {
  if (messages.length === 0) return []
  if (messages.length > expoSendLimit) throw new Error(`at most ${expoSendLimit} messages per request`)
  const parsed = z.object({ data: z.array(TicketSchema) }).safeParse(await post(config, '/send', messages))
  if (!parsed.success || parsed.data.data.length !== messages.length) {
    throw new ExpoRequestError('Expo answered tickets that do not match the messages', 200, false)
  }
  return parsed.data.data
}

/** Receipts for up to {@link expoReceiptLimit} ticket ids; ids without a receipt yet are absent. */
export async function getExpoReceipts(
  config: Config['push'],
  ids: string[],
): Promise<Record<string, ExpoReceipt>> {
  if (ids.length === 0) return {}
  if (ids.length > expoReceiptLimit) throw new Error(`at most ${expoReceiptLimit} ids per request`)
  const parsed = z
    .object({ data: z.record(z.string(), ReceiptSchema) })
    .safeParse(await post(config, '/getReceipts', { ids }))
  if (!parsed.success) throw new ExpoRequestError('Expo answered malformed receipts', 200, false)
  return parsed.data.data
}
