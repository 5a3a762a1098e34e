/**
 * Local stand-ins for the two push services the Worker talks to, on one HTTP port on 127.0.0.1.
 * Nothing here reaches the internet; production takes the same code path with other base URLs.
 *
 * **Expo push service** (EXPO_PUSH_URL = `<url>/--/api/v2/push`), as Expo documents it:
 * - `POST /--/api/v2/push/send`: a JSON array of messages (or one message), gzip accepted, at
 *   most 100 per request (more: 400 `PUSH_TOO_MANY_NOTIFICATIONS`). With `accessToken` set, a
 *   request without `Authorization: Bearer <it>` is 401 (Expo's "enhanced push security").
 *   Answer `{data: [ticket…]}` in message order; a ticket is `{status: "ok", id}` or
 *   `{status: "error", message, details: {error}}` (a token that is not an Expo token gets
 *   `DeviceNotRegistered`, as Expo answers).
 * - `POST /--/api/v2/push/getReceipts` `{ids}` (at most 1,000) → `{data: {id: receipt}}`, only for
 *   tickets it issued; a receipt is `{status: "ok"}` or an error with `details.error`.
 * - Whole-request failures are `{errors: [{code, message}]}` with the status.
 *
 * **Web Push endpoint** (RFC 8030/8291/8292), standing in for a browser's push service:
 * - `POST /__fake/web/subscriptions` `{applicationServerKey}` plays the browser's
 *   `pushManager.subscribe`: it makes a P-256 key pair and an auth secret and answers
 *   `PushSubscription.toJSON()` (`endpoint`, `keys.p256dh`, `keys.auth`).
 * - `POST /wpush/<id>` is the endpoint. It checks `TTL`, `Content-Encoding: aes128gcm` and the
 *   VAPID header (ES256 JWT signed by `k`, `k` = the subscription's applicationServerKey else
 *   403, `aud` = this origin, `exp` within 24 h, `sub` mailto:/https:), then decrypts the body
 *   with `http_ece` (an implementation independent of the Worker's) and answers 201.
 *   Unknown or removed subscriptions: 410.
 *
 * Behaviour per token / subscription (so test files running in parallel never share state):
 * - `PUT /__fake/expo/tokens/<token>` `{ticket?: "ok"|"DeviceNotRegistered"|"MessageRateExceeded",
 *   receipt?: "ok"|"DeviceNotRegistered"|"MessageTooBig", fail?: {status, count, retryAfter?}}`:
 *   `fail` answers the next `count` requests that carry this token with `status` (429/5xx).
 * - `PUT /__fake/web/subscriptions/<id>` `{gone?: 404|410, fail?: {status, count, retryAfter?}}`.
 *
 * What it caught: `GET /__fake/expo/messages?to=<token>`, `GET /__fake/expo/requests`,
 * `GET /__fake/web/subscriptions/<id>/messages` (decrypted payloads and VAPID claims),
 * `GET /__fake/caught` (everything, newest last) and `GET /` (the same as a small HTML page).
 *
 * Run alone: `tsx scripts/local-stack/push-fake.ts --port 8790`.
 */
import { createECDH, randomBytes, randomUUID } from 'node:crypto'
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { decrypt } from 'http_ece'
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose'

type Failure = { status: number; count: number; retryAfter?: number }

interface ExpoTokenBehaviour {
  ticket?: 'ok' | 'DeviceNotRegistered' | 'MessageRateExceeded'
  receipt?: 'ok' | 'DeviceNotRegistered' | 'MessageTooBig'
  fail?: Failure
}

export interface CaughtExpoMessage {
  to: string
  title?: string
  body?: string
  data?: Record<string, unknown>
  ticketId?: string
  at: string
}

export interface CaughtWebPush {
  subscription: string
  payload: string
  ttl: number
  urgency: string | null
  topic: string | null
  vapid: { aud: string; sub: string; exp: number }
  at: string
}

interface WebSubscription {
  id: string
  ecdh: ReturnType<typeof createECDH>
  auth: Buffer
  applicationServerKey: string
  gone?: 404 | 410
  fail?: Failure
  messages: CaughtWebPush[]
}

export interface PushFake {
  url: string
  /** EXPO_PUSH_URL for the Worker. */
  expoUrl: string
  expoRequests: { messages: number; status: number; at: string; to: string[] }[]
  close(): Promise<void>
}

const b64url = (buf: Buffer) => buf.toString('base64url')
const expoToken = /^Expo(?:nent)?PushToken\[[A-Za-z0-9_-]+\]$/
/** Keep memory bounded in a long `npm run dev`. */
const keep = 5_000

export async function startPushFake(opts: { port?: number; accessToken?: string } = {}): Promise<PushFake> {
  const tokens = new Map<string, ExpoTokenBehaviour>()
  const tickets = new Map<string, { token: string; receipt: ExpoTokenBehaviour['receipt'] }>()
  const expoMessages: CaughtExpoMessage[] = []
  const expoRequests: PushFake['expoRequests'] = []
  const subscriptions = new Map<string, WebSubscription>()
  const webCaught: CaughtWebPush[] = []
  let origin = ''

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(body === undefined ? undefined : JSON.stringify(body))
  }
  const expoError = (
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    retryAfter?: number,
  ) =>
    send(
      res,
      status,
      { errors: [{ code, message }] },
      retryAfter ? { 'retry-after': String(retryAfter) } : {},
    )

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks)
    return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
  }

  function takeFailure(f: Failure | undefined): Failure | undefined {
    if (!f || f.count <= 0) return undefined
    f.count--
    return f
  }

  async function expoSend(req: IncomingMessage, res: ServerResponse) {
    let parsed: unknown
    try {
      parsed = JSON.parse((await readBody(req)).toString('utf8'))
    } catch {
      return expoError(res, 400, 'VALIDATION_ERROR', 'The request body is not valid JSON')
    }
    const messages = (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[]
    const record = (status: number) => {
      expoRequests.push({
        messages: messages.length,
        status,
        at: new Date().toISOString(),
        to: messages.map((m) => String(m.to)),
      })
      if (expoRequests.length > keep / 5) expoRequests.shift()
    }
    if (messages.length > 100) {
      record(400)
      return expoError(
        res,
        400,
        'PUSH_TOO_MANY_NOTIFICATIONS',
        'You are trying to send more than 100 push notifications in one request',
      )
    }
    for (const m of messages) {
      const tos = Array.isArray(m.to) ? m.to : [m.to]
      for (const to of tos) {
        const failure = typeof to === 'string' ? takeFailure(tokens.get(to)?.fail) : undefined
        if (failure) {
          record(failure.status)
          return expoError(
            res,
            failure.status,
            failure.status === 429 ? 'TOO_MANY_REQUESTS' : 'INTERNAL_SERVER_ERROR',
            failure.status === 429 ? 'Too many requests' : 'An unknown error occurred',
            failure.retryAfter,
          )
        }
      }
    }
    const data = messages.map((m) => {
      const to = String(m.to)
      const behaviour = tokens.get(to) ?? {}
      const caught: CaughtExpoMessage = {
        to,
        title: m.title as string | undefined,
        body: m.body as string | undefined,
        data: m.data as Record<string, unknown> | undefined,
        at: new Date().toISOString(),
      }
      expoMessages.push(caught)
      if (expoMessages.length > keep) expoMessages.shift()
      if (!expoToken.test(to) || behaviour.ticket === 'DeviceNotRegistered') {
        return {
          status: 'error',
          message: `"${to}" is not a registered push notification recipient`,
          details: { error: 'DeviceNotRegistered', expoPushToken: to },
        }
      }
      if (behaviour.ticket === 'MessageRateExceeded') {
        return {
          status: 'error',
          message: 'Too many messages for this device',
          details: { error: 'MessageRateExceeded' },
        }
      }
      const id = randomUUID()
      caught.ticketId = id
      tickets.set(id, { token: to, receipt: behaviour.receipt })
      return { status: 'ok', id }
    })
    record(200)
    send(res, 200, { data })
  }

  async function expoReceipts(req: IncomingMessage, res: ServerResponse) {
    let ids: unknown
    try {
      ids = (JSON.parse((await readBody(req)).toString('utf8')) as { ids?: unknown }).ids
    } catch {
      return expoError(res, 400, 'VALIDATION_ERROR', 'The request body is not valid JSON')
    }
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
      return expoError(res, 400, 'VALIDATION_ERROR', '"ids" must be an array of strings')
    }
    if (ids.length > 1000)
      return expoError(res, 400, 'VALIDATION_ERROR', '"ids" must contain at most 1000 items')
    const data: Record<string, unknown> = {}
    for (const id of ids as string[]) {
      const t = tickets.get(id)
      if (!t) continue
      // Receipts follow the token's behaviour at the time of asking, like a device that has
      // since been uninstalled.
      const receipt = tokens.get(t.token)?.receipt ?? t.receipt ?? 'ok'
      data[id] =
        receipt === 'ok'
          ? { status: 'ok' }
          : {
              status: 'error',
              message:
                receipt === 'DeviceNotRegistered'
                  ? 'The device cannot receive push notifications anymore and you should stop sending messages to the corresponding Expo push token.'
                  : 'The notification was too large.',
              details: { error: receipt },
            }
    }
    send(res, 200, { data })
  }

  async function webPush(id: string, req: IncomingMessage, res: ServerResponse) {
    const sub = subscriptions.get(id)
    const body = await readBody(req)
    if (!sub) return send(res, 410, { reason: 'unknown subscription' })
    if (sub.gone) return send(res, sub.gone, { reason: 'subscription expired or unsubscribed' })
    const failure = takeFailure(sub.fail)
    if (failure) {
      return send(
        res,
        failure.status,
        { reason: 'try later' },
        failure.retryAfter ? { 'retry-after': String(failure.retryAfter) } : {},
      )
    }
    const ttl = Number(req.headers.ttl)
    if (req.headers.ttl === undefined || !Number.isInteger(ttl) || ttl < 0)
      return send(res, 400, { reason: 'TTL header required' })
    if (req.headers['content-encoding'] !== 'aes128gcm')
      return send(res, 415, { reason: 'Content-Encoding must be aes128gcm' })
    if (body.length > 4096) return send(res, 413, { reason: 'payload too large' })
    const auth = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(req.headers.authorization ?? '')
    if (!auth) return send(res, 401, { reason: 'VAPID authorization required' })
    const [, jwt, k] = auth as unknown as [string, string, string]
    if (k !== sub.applicationServerKey)
      return send(res, 403, { reason: 'VAPID key does not match the subscription' })
    let claims
    try {
      if (decodeProtectedHeader(jwt).alg !== 'ES256') throw new Error('alg must be ES256')
      const pub = Buffer.from(k, 'base64url')
      const key = await importJWK(
        { kty: 'EC', crv: 'P-256', x: b64url(pub.subarray(1, 33)), y: b64url(pub.subarray(33, 65)) },
        'ES256',
      )
      ;({ payload: claims } = await jwtVerify(jwt, key, { audience: origin, algorithms: ['ES256'] }))
      if (typeof claims.exp !== 'number' || claims.exp > Date.now() / 1000 + 24 * 3600) {
        throw new Error('exp must be within 24 hours')
      }
      if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) {
        throw new Error('sub must be a mailto: or https: contact')
      }
    } catch (err) {
      return send(res, 403, { reason: `VAPID JWT rejected: ${(err as Error).message}` })
    }
    let payload: string
    try {
      payload = decrypt(body, { version: 'aes128gcm', privateKey: sub.ecdh, authSecret: sub.auth }).toString(
        'utf8',
      )
    } catch (err) {
      return send(res, 400, { reason: `cannot decrypt: ${(err as Error).message}` })
    }
    const caught: CaughtWebPush = {
      subscription: id,
      payload,
      ttl,
      urgency: (req.headers.urgency as string | undefined) ?? null,
      topic: (req.headers.topic as string | undefined) ?? null,
      vapid: { aud: String(claims.aud), sub: String(claims.sub), exp: Number(claims.exp) },
      at: new Date().toISOString(),
    }
    sub.messages.push(caught)
    webCaught.push(caught)
    if (webCaught.length > keep) webCaught.shift()
    res.writeHead(201, { location: `${origin}/wpush/${id}/messages/${randomUUID()}` })
    res.end()
  }

  function page(): string {
    const esc = (v: unknown) => String(v).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)
    const rows = (items: string[][]) =>
      items.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')
    return `<!doctype html><meta charset="utf-8"><title>Push fake</title>
<style>body{font:14px system-ui;margin:2rem}td,th{border-bottom:1px solid #ddd;padding:.25rem .5rem;text-align:left}</style>
<h1>Caught pushes</h1><p>JSON: <a href="/__fake/caught">/__fake/caught</a></p>
<h2>Expo (${expoMessages.length} messages in ${expoRequests.length} requests)</h2>
<table><tr><th>at</th><th>to</th><th>title</th><th>body</th><th>data</th></tr>${rows(
      expoMessages
        .slice(-100)
        .reverse()
        .map((m) => [m.at, m.to, m.title ?? '', m.body ?? '', JSON.stringify(m.data ?? {})]),
    )}</table>
<h2>Web Push (${webCaught.length})</h2>
<table><tr><th>at</th><th>subscription</th><th>payload (decrypted)</th><th>VAPID sub</th></tr>${rows(
      webCaught
        .slice(-100)
        .reverse()
        .map((m) => [m.at, m.subscription, m.payload, m.vapid.sub]),
    )}</table>`
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      const path = url.pathname
      if (req.method === 'POST' && path.startsWith('/--/api/v2/push/')) {
        if (opts.accessToken && req.headers.authorization !== `Bearer ${opts.accessToken}`) {
          return expoError(res, 401, 'UNAUTHORIZED', 'The bearer token is invalid')
        }
        if (path === '/--/api/v2/push/send') return expoSend(req, res)
        if (path === '/--/api/v2/push/getReceipts') return expoReceipts(req, res)
      }
      const wpush = /^\/wpush\/([\w-]+)$/.exec(path)
      if (req.method === 'POST' && wpush) return webPush(wpush[1]!, req, res)

      // Control and inspection (not part of either protocol).
      const token = /^\/__fake\/expo\/tokens\/(.+)$/.exec(path)
      if (req.method === 'PUT' && token) {
        tokens.set(decodeURIComponent(token[1]!), JSON.parse((await readBody(req)).toString('utf8') || '{}'))
        return send(res, 204, undefined)
      }
      if (req.method === 'GET' && path === '/__fake/expo/messages') {
        const to = url.searchParams.get('to')
        return send(res, 200, { data: to ? expoMessages.filter((m) => m.to === to) : expoMessages })
      }
      if (req.method === 'GET' && path === '/__fake/expo/requests')
        return send(res, 200, { data: expoRequests })
      if (req.method === 'POST' && path === '/__fake/web/subscriptions') {
        const { applicationServerKey } = JSON.parse((await readBody(req)).toString('utf8') || '{}') as {
          applicationServerKey?: string
        }
        if (!applicationServerKey) return send(res, 400, { reason: 'applicationServerKey required' })
        const ecdh = createECDH('prime256v1')
        ecdh.generateKeys()
        const sub: WebSubscription = {
          id: randomUUID(),
          ecdh,
          auth: randomBytes(16),
          applicationServerKey,
          messages: [],
        }
        subscriptions.set(sub.id, sub)
        return send(res, 201, {
          id: sub.id,
          endpoint: `${origin}/wpush/${sub.id}`,
          expirationTime: null,
          keys: { p256dh: b64url(ecdh.getPublicKey()), auth: b64url(sub.auth) },
        })
      }
      const subPath = /^\/__fake\/web\/subscriptions\/([\w-]+)(\/messages)?$/.exec(path)
      if (subPath) {
        const sub = subscriptions.get(subPath[1]!)
        if (!sub) return send(res, 404, { reason: 'unknown subscription' })
        if (req.method === 'GET' && subPath[2]) return send(res, 200, { data: sub.messages })
        if (req.method === 'PUT' && !subPath[2]) {
          const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as Pick<
            WebSubscription,
            'gone' | 'fail'
          >
          sub.gone = body.gone
          sub.fail = body.fail
          return send(res, 204, undefined)
        }
      }
      if (req.method === 'GET' && path === '/__fake/caught') {
        return send(res, 200, { expo: { requests: expoRequests, messages: expoMessages }, web: webCaught })
      }
      if (req.method === 'GET' && path === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        return res.end(page())
      }
      send(res, 404, { errors: [{ code: 'NOT_FOUND', message: `${req.method} ${path}` }] })
    })().catch((err: unknown) => {
      if (!res.headersSent)
        send(res, 500, { errors: [{ code: 'INTERNAL_SERVER_ERROR', message: String(err) }] })
      else res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: origin,
    expoUrl: `${origin}/--/api/v2/push`,
    expoRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8790' } } })
  const fake = await startPushFake({ port: Number(values.port) })
  console.log(`push fake on ${fake.url} (Expo: ${fake.expoUrl}; caught: ${fake.url}/)`)
}
