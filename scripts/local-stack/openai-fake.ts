/**
 * A local fake of the OpenAI Chat Completions API for tests: the Worker's verification job talks
 * to it exactly as to `https://api.openai.com/v1` (OPENAI_BASE_URL=`<url>/v1`), over real HTTP on
 * 127.0.0.1. Nothing here reaches the internet.
 *
 * Wire protocol, as documented in OpenAI's API reference (chat/create, errors) and as its official
 * SDKs read it:
 * - `POST /v1/chat/completions` with a JSON body; `Authorization: Bearer <key>`. A missing key or
 *   a wrong one is a 401 with OpenAI's wording (`code: "invalid_api_key"` for a wrong key).
 * - Every error is `{"error": {"message", "type", "param", "code"}}` with the matching status:
 *   400 `invalid_request_error` (unparseable JSON, a missing `model` or `messages`, JSON mode
 *   without the word "json" in the messages, a bad image part), 404 for other paths, 429
 *   `rate_limit_exceeded` with a `retry-after` header, 500/503 `server_error`.
 * - Success is a `chat.completion` object: `id`, `object`, `created`, `model`, `choices[0].message`
 *   `{role: "assistant", content, refusal, annotations}`, `finish_reason`, `usage` (token counts
 *   are rough estimates: text length / 4, plus OpenAI's per-image cost for `low`/`high` detail),
 *   `service_tier`, `system_fingerprint`; with `x-request-id`, `openai-processing-ms` and
 *   `x-ratelimit-*` headers.
 *
 * Scripting, without races between test files that run in parallel against one fake: a request is
 * matched to a scenario by its `safety_identifier` (or the older `user` field), which production
 * code sends anyway (a hash of the member's id, as OpenAI recommends) and which is unique per test
 * fixture. A scenario is a list of steps answered in order; the last step repeats. Each step is a
 * 200 with any `content` (malformed JSON included), a `refusal`, or an OpenAI error, optionally
 * after `delayMs` (a slow upstream, for timeout tests). A request nobody scripted gets a 500
 * naming its identifier, so a forgotten script fails loudly instead of passing by accident.
 *
 * Control API (same Bearer key; not part of OpenAI's protocol, hence the `/__fake` prefix):
 * - `PUT /__fake/scenarios/<id>` `{steps: FakeStep[]}` → 204 (replaces the scenario, keeps nothing)
 * - `GET /__fake/requests/<id>` → the requests received for `<id>`, oldest first
 * - `DELETE /__fake/scenarios/<id>` → 204 (forgets the scenario and its requests)
 *
 * @example
 * const fake = await startOpenAiFake({ apiKey: 'sk-test' })
 * // OPENAI_BASE_URL = `${fake.url}/v1`, OPENAI_API_KEY = 'sk-test'
 * fake.script('user-hash', [{ error: { status: 429 }, retryAfter: 1 }, { content: '{"ok": 1}' }])
 * await fake.close()
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

/** One scripted answer. Exactly one of `content`, `refusal` or `error` (none: empty content). */
export interface FakeStep {
  /** Wait this long before answering; a client that gives up earlier gets nothing. */
  delayMs?: number
  /** The assistant message's `content`, verbatim: any string, malformed JSON included. */
  content?: string
  /** An assistant refusal (`content: null`, `refusal: <text>`), as the model answers when it declines. */
  refusal?: string
  /** `finish_reason` of a 200; `length` with cut-off content is what `max_tokens` produces. */
  finishReason?: 'stop' | 'length' | 'content_filter'
  /** An error answer; message/type/code default to OpenAI's own for that status. */
  error?: { status: number; message?: string; type?: string; code?: string | null; param?: string | null }
  /** `retry-after` header (seconds) on an error answer; OpenAI sends it with 429s. */
  retryAfter?: number
}

/** A request as the fake received it, for tests to assert what the Worker sent. */
export interface RecordedRequest {
  method: string
  path: string
  headers: { authorization: string | null; contentType: string | null }
  /** The parsed JSON body. */
  body: unknown
  receivedAt: string
}

export interface OpenAiFakeOptions {
  apiKey: string
  /** 0 (the default) picks a free port. */
  port?: number
  /** Defaults to 127.0.0.1. */
  host?: string
  /** The `model` echoed in answers when the request's is not a dated snapshot name. */
  snapshotSuffix?: string
}

export interface OpenAiFake {
  /** Base URL without `/v1` (the Worker's OPENAI_BASE_URL is `${url}/v1`). */
  url: string
  port: number
  /** Script the answers for one `safety_identifier` (same as `PUT /__fake/scenarios/<id>`). */
  script(identifier: string, steps: FakeStep[]): void
  requests(identifier: string): RecordedRequest[]
  close(): Promise<void>
}

interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

const MAX_BODY_BYTES = 64 * 1024 * 1024

const defaultErrors: Record<number, { message: string; type: string; code: string | null }> = {
  400: { message: 'Invalid request.', type: 'invalid_request_error', code: null },
  401: {
    message:
      'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  },
  403: {
    message: 'Country, region, or territory not supported',
    type: 'request_forbidden',
    code: 'unsupported_country_region_territory',
  },
  404: {
    message: 'The model does not exist or you do not have access to it.',
    type: 'invalid_request_error',
    code: 'model_not_found',
  },
  429: {
    message:
      'Rate limit reached for requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more.',
    type: 'requests',
    code: 'rate_limit_exceeded',
  },
  500: {
    message: 'The server had an error while processing your request. Sorry about that!',
    type: 'server_error',
    code: null,
  },
  503: {
    message: 'The engine is currently overloaded, please try again later.',
    type: 'server_error',
    code: null,
  },
}

const errorBody = (
  message: string,
  type = 'invalid_request_error',
  param: string | null = null,
  code: string | null = null,
): OpenAiErrorBody => ({ error: { message, type, param, code } })

const requestId = () => `req_${randomBytes(16).toString('hex')}`

/** Thrown while validating a request: answered as a 400 with OpenAI's error shape. */
class InvalidRequest extends Error {
  constructor(
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message)
  }
}

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        resolve(null)
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** Rough token count of one message's content, and whether any text mentions "json". */
function measureContent(content: unknown, path: string): { tokens: number; text: string } {
  if (typeof content === 'string') return { tokens: Math.ceil(content.length / 4), text: content }
  if (!Array.isArray(content)) {
    throw new InvalidRequest(
      `Invalid type for '${path}': expected a string or an array of content parts.`,
      path,
    )
  }
  let tokens = 0
  let text = ''
  content.forEach((part: unknown, i) => {
    const at = `${path}[${i}]`
    if (!isObject(part)) throw new InvalidRequest(`Invalid type for '${at}': expected an object.`, at)
    if (part.type === 'text') {
      if (typeof part.text !== 'string')
        throw new InvalidRequest(`Missing required parameter: '${at}.text'.`, at)
      tokens += Math.ceil(part.text.length / 4)
      text += part.text
    } else if (part.type === 'image_url') {
      const image = part.image_url
      if (!isObject(image) || typeof image.url !== 'string') {
        throw new InvalidRequest(`Missing required parameter: '${at}.image_url.url'.`, `${at}.image_url.url`)
      }
      const detail = image.detail ?? 'auto'
      if (detail !== 'auto' && detail !== 'low' && detail !== 'high') {
        throw new InvalidRequest(
          `Invalid value: '${String(detail)}'. Supported values are: 'auto', 'low', and 'high'.`,
          `${at}.image_url.detail`,
          'invalid_value',
        )
      }
      checkImageUrl(image.url, `${at}.image_url.url`)
      // OpenAI's published costs: 85 tokens at low detail; a 450 px image at high detail is one tile.
      tokens += detail === 'low' ? 85 : 255
    } else {
      throw new InvalidRequest(
        `Invalid value: '${String(part.type)}'. Supported values are: 'text', 'image_url', 'input_audio', 'refusal', 'audio', and 'file'.`,
        `${at}.type`,
        'invalid_value',
      )
    }
  })
  return { tokens, text }
}

/** Data URLs must hold a real image of a supported type; https URLs are accepted but never fetched. */
function checkImageUrl(url: string, param: string) {
  if (/^https:\/\//.test(url)) return
  const match = /^data:image\/(jpeg|png|gif|webp);base64,([A-Za-z0-9+/]+={0,2})$/.exec(url)
  const bytes = match ? Buffer.from(match[2]!, 'base64') : undefined
  const magic: Record<string, number[]> = {
    jpeg: [0xff, 0xd8, 0xff],
    png: [0x89, 0x50, 0x4e, 0x47],
    gif: [0x47, 0x49, 0x46],
    webp: [0x52, 0x49, 0x46, 0x46],
  }
  if (!match || !bytes || !magic[match[1]!]!.every((b, i) => bytes[i] === b)) {
    throw new InvalidRequest(
      'You uploaded an unsupported image. Please make sure your image is below 20 MB in size and is of one the following formats: ["png", "jpeg", "gif", "webp"].',
      param,
      'invalid_image_format',
    )
  }
}

/** Validate a chat.completions body the way the API does (the parts the Worker uses) and size it. */
function checkCompletionRequest(body: unknown): {
  model: string
  promptTokens: number
  maxTokens: number | null
} {
  if (!isObject(body)) throw new InvalidRequest('Invalid type for body: expected an object.')
  if (typeof body.model !== 'string' || body.model === '') {
    throw new InvalidRequest('you must provide a model parameter')
  }
  if (body.messages === undefined) {
    throw new InvalidRequest(
      "Missing required parameter: 'messages'.",
      'messages',
      'missing_required_parameter',
    )
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw new InvalidRequest(
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'messages',
      'empty_array',
    )
  }
  let promptTokens = 0
  let allText = ''
  body.messages.forEach((message: unknown, i) => {
    const at = `messages[${i}]`
    if (!isObject(message)) throw new InvalidRequest(`Invalid type for '${at}': expected an object.`, at)
    if (!['system', 'developer', 'user', 'assistant'].includes(String(message.role))) {
      throw new InvalidRequest(
        `Invalid value: '${String(message.role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
        `${at}.role`,
        'invalid_value',
      )
    }
    const { tokens, text } = measureContent(message.content, `${at}.content`)
    promptTokens += tokens + 4
    allText += text
  })
  if (body.temperature !== undefined) {
    if (typeof body.temperature !== 'number' || body.temperature < 0 || body.temperature > 2) {
      throw new InvalidRequest(
        `Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got ${String(body.temperature)} instead.`,
        'temperature',
        'decimal_above_max_value',
      )
    }
  }
  const maxTokens = body.max_completion_tokens ?? body.max_tokens
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || (maxTokens as number) < 1)) {
    throw new InvalidRequest(
      `Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got ${String(maxTokens)} instead.`,
      'max_tokens',
      'integer_below_min_value',
    )
  }
  const format = body.response_format
  if (format !== undefined) {
    if (!isObject(format) || !['text', 'json_object', 'json_schema'].includes(String(format.type))) {
      throw new InvalidRequest(
        "Invalid value for 'response_format.type': expected one of 'text', 'json_object' or 'json_schema'.",
        'response_format.type',
        'invalid_value',
      )
    }
    if (format.type === 'json_object' && !/json/i.test(allText)) {
      throw new InvalidRequest(
        "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
        'messages',
      )
    }
  }
  return { model: body.model, promptTokens, maxTokens: (maxTokens as number | undefined) ?? null }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  // The client may have hung up (its own timeout) while a slow step was waiting.
  if (res.headersSent || res.destroyed || res.socket?.destroyed !== false) return
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-request-id': requestId(),
    'openai-version': '2020-10-01',
    ...headers,
  })
  res.end(text)
}

const bearer = (req: IncomingMessage): string | null => {
  const match = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''))
  return match ? match[1]!.trim() : null
}

/**
 * Start the fake on 127.0.0.1.
 *
 * @example
 * const fake = await startOpenAiFake({ apiKey: randomBytes(12).toString('hex') })
 */
export async function startOpenAiFake(opts: OpenAiFakeOptions): Promise<OpenAiFake> {
  const expectedKey = Buffer.from(opts.apiKey, 'utf8')
  const scenarios = new Map<string, { steps: FakeStep[]; next: number }>()
  const recorded = new Map<string, RecordedRequest[]>()
  const timers = new Set<NodeJS.Timeout>()

  const keyMatches = (given: string | null) => {
    if (given === null) return false
    const bytes = Buffer.from(given, 'utf8')
    return bytes.length === expectedKey.length && timingSafeEqual(bytes, expectedKey)
  }

  const script = (identifier: string, steps: FakeStep[]) => {
    if (steps.length === 0) throw new Error('a scenario needs at least one step')
    scenarios.set(identifier, { steps, next: 0 })
    recorded.delete(identifier)
  }

  const nextStep = (identifier: string | null): FakeStep => {
    const scenario = identifier === null ? undefined : scenarios.get(identifier)
    if (!scenario) {
      return {
        error: {
          status: 500,
          message: `openai-fake: nothing scripted for safety_identifier ${JSON.stringify(identifier)}`,
          type: 'server_error',
        },
      }
    }
    const step = scenario.steps[Math.min(scenario.next, scenario.steps.length - 1)]!
    scenario.next += 1
    return step
  }

  const wait = (ms: number, res: ServerResponse) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        resolve()
      }, ms)
      timers.add(timer)
      // The client gave up (its timeout): stop waiting, there is nobody to answer.
      res.once('close', () => {
        clearTimeout(timer)
        timers.delete(timer)
        resolve()
      })
    })

  async function answer(res: ServerResponse, step: FakeStep, model: string, promptTokens: number) {
    const started = Date.now()
    if (step.delayMs) await wait(step.delayMs, res)
    if (res.destroyed) return
    if (step.error) {
      const defaults =
        defaultErrors[step.error.status] ?? defaultErrors[step.error.status >= 500 ? 500 : 400]!
      send(
        res,
        step.error.status,
        errorBody(
          step.error.message ?? defaults.message,
          step.error.type ?? defaults.type,
          step.error.param ?? null,
          step.error.code === undefined ? defaults.code : step.error.code,
        ),
        step.retryAfter === undefined ? {} : { 'retry-after': String(step.retryAfter) },
      )
      return
    }
    const content = step.refusal === undefined ? (step.content ?? '') : null
    const completionTokens = Math.ceil((step.content ?? step.refusal ?? '').length / 4)
    send(
      res,
      200,
      {
        id: `chatcmpl-${randomBytes(15).toString('base64url')}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        // The API answers with the dated snapshot an alias resolved to.
        model: /-\d{4}-\d{2}-\d{2}$/.test(model) ? model : `${model}${opts.snapshotSuffix ?? '-2025-04-14'}`,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content, refusal: step.refusal ?? null, annotations: [] },
            logprobs: null,
            finish_reason: step.finishReason ?? 'stop',
          },
        ],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: {
            reasoning_tokens: 0,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
          },
        },
        service_tier: 'default',
        system_fingerprint: 'fp_openai_fake',
      },
      {
        'openai-processing-ms': String(Date.now() - started),
        'x-ratelimit-limit-requests': '500',
        'x-ratelimit-remaining-requests': '499',
        'x-ratelimit-reset-requests': '120ms',
        'x-ratelimit-limit-tokens': '30000',
        'x-ratelimit-remaining-tokens': String(Math.max(0, 30000 - promptTokens)),
        'x-ratelimit-reset-tokens': '2ms',
      },
    )
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, path: string) {
    const match = /^\/__fake\/(scenarios|requests)\/([^/]+)$/.exec(path)
    if (!match) return send(res, 404, errorBody(`Invalid URL (${req.method} ${path})`))
    const identifier = decodeURIComponent(match[2]!)
    if (match[1] === 'requests' && req.method === 'GET') return send(res, 200, recorded.get(identifier) ?? [])
    if (match[1] === 'scenarios' && req.method === 'DELETE') {
      scenarios.delete(identifier)
      recorded.delete(identifier)
      res.writeHead(204).end()
      return
    }
    if (match[1] === 'scenarios' && req.method === 'PUT') {
      const raw = await readBody(req)
      let parsed: unknown
      try {
        parsed = JSON.parse(String(raw))
      } catch {
        return send(res, 400, errorBody('Body must be JSON: {"steps": [...]}'))
      }
      if (!isObject(parsed) || !Array.isArray(parsed.steps) || parsed.steps.length === 0) {
        return send(res, 400, errorBody('Body must be {"steps": [FakeStep, ...]} with at least one step'))
      }
      script(identifier, parsed.steps as FakeStep[])
      res.writeHead(204).end()
      return
    }
    send(res, 404, errorBody(`Invalid URL (${req.method} ${path})`))
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://fake').pathname
    const given = bearer(req)
    if (given === null) {
      return send(
        res,
        401,
        errorBody(
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        ),
      )
    }
    if (!keyMatches(given)) {
      const masked = given.length > 8 ? `${given.slice(0, 3)}*********${given.slice(-4)}` : '***'
      return send(
        res,
        401,
        errorBody(
          `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          'invalid_request_error',
          null,
          'invalid_api_key',
        ),
      )
    }
    if (path.startsWith('/__fake/')) return handleControl(req, res, path)
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      return send(res, 404, errorBody(`Invalid URL (${req.method} ${path})`))
    }
    const raw = await readBody(req)
    if (raw === null) {
      return send(res, 413, errorBody(`Request too large: the body exceeds ${MAX_BODY_BYTES} bytes.`))
    }
    let body: unknown
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch {
      return send(
        res,
        400,
        errorBody(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
        ),
      )
    }
    const identifier = isObject(body)
      ? typeof body.safety_identifier === 'string'
        ? body.safety_identifier
        : typeof body.user === 'string'
          ? body.user
          : null
      : null
    if (identifier !== null) {
      const list = recorded.get(identifier) ?? []
      list.push({
        method: req.method,
        path,
        headers: {
          authorization: req.headers.authorization ?? null,
          contentType: req.headers['content-type'] ?? null,
        },
        body,
        receivedAt: new Date().toISOString(),
      })
      recorded.set(identifier, list)
    }
    let checked
    try {
      checked = checkCompletionRequest(body)
    } catch (err) {
      if (!(err instanceof InvalidRequest)) throw err
      return send(res, 400, errorBody(err.message, 'invalid_request_error', err.param, err.code))
    }
    await answer(res, nextStep(identifier), checked.model, checked.promptTokens)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      send(res, 500, errorBody(`openai-fake: ${String(err)}`, 'server_error'))
    })
  })
  const host = opts.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${host}:${port}`,
    port,
    script,
    requests: (identifier) => recorded.get(identifier) ?? [],
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer)
        timers.clear()
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      }),
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8078' },
      host: { type: 'string', default: '127.0.0.1' },
      'api-key': { type: 'string', default: 'sk-local-fake' },
    },
  })
  const fake = await startOpenAiFake({
    apiKey: values['api-key'],
    port: Number(values.port),
    host: values.host,
  })
  console.log(
    `OpenAI fake on ${fake.url}/v1 (key "${values['api-key']}"); script answers with PUT ${fake.url}/__fake/scenarios/<safety_identifier>`,
  )
  const stop = (): void => {
    void fake.close()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
