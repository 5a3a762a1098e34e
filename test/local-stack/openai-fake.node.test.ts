/**
 * The OpenAI fake, driven by the official `openai` SDK (whose parsing of answers and errors is
 * the best available statement of the wire protocol) and by raw fetch where the bytes on the
 * wire are the point. Runs in Node.
 */
import { randomBytes } from 'node:crypto'
import OpenAI, { type APIError } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type OpenAiFake, startOpenAiFake } from '../../scripts/local-stack/openai-fake'

const apiKey = `sk-test-${randomBytes(8).toString('hex')}`
let fake: OpenAiFake
let client: OpenAI

// A 1×1 JPEG's first bytes are enough for the fake's magic-byte check.
const jpegDataUrl = `data:image/jpeg;base64,${Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]).toString('base64')}`
const id = () => `id-${randomBytes(6).toString('hex')}`

const completion = (identifier: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
  client.chat.completions.create({
    model: 'gpt-4.1',
    temperature: 0,
    max_tokens: 500,
    response_format: { type: 'json_object' },
    safety_identifier: identifier,
    messages: [
      { role: 'system', content: 'Answer in JSON.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Image #1:' },
          { type: 'image_url', image_url: { url: jpegDataUrl, detail: 'high' } },
        ],
      },
    ],
    ...extra,
  })

async function raw(path: string, init: RequestInit & { key?: string | null } = {}) {
  const { key = apiKey, ...rest } = init
  const res = await fetch(fake.url + path, {
    method: 'POST',
    ...rest,
    headers: {
      'content-type': 'application/json',
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(rest.headers as Record<string, string> | undefined),
    },
  })
  const text = await res.text()
  return { res, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : null }
}

beforeAll(async () => {
  fake = await startOpenAiFake({ apiKey })
  // maxRetries 0: the tests see each answer; the SDK's own retry policy is exercised once below.
  client = new OpenAI({ apiKey, baseURL: `${fake.url}/v1`, maxRetries: 0 })
})

afterAll(async () => {
  await fake.close()
})

describe('chat completions', () => {
  it('answers a scripted completion in the chat.completion shape, and records the request', async () => {
    const key = id()
    fake.script(key, [{ content: '{"image_1_is_photograph": 0.93}' }])
    const answer = await completion(key)
    expect(answer.object).toBe('chat.completion')
    expect(answer.id).toMatch(/^chatcmpl-/)
    expect(answer.model).toBe('gpt-4.1-2025-04-14')
    expect(answer.choices).toHaveLength(1)
    expect(answer.choices[0]!.message).toEqual({
      role: 'assistant',
      content: '{"image_1_is_photograph": 0.93}',
      refusal: null,
      annotations: [],
    })
    expect(answer.choices[0]!.finish_reason).toBe('stop')
    expect(answer.usage!.total_tokens).toBe(answer.usage!.prompt_tokens + answer.usage!.completion_tokens)
    expect(answer.usage!.prompt_tokens).toBeGreaterThan(255)

    const [seen] = fake.requests(key)
    expect(seen).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${apiKey}` },
      body: { model: 'gpt-4.1', temperature: 0, max_tokens: 500, safety_identifier: key },
    })
    expect(seen!.headers.contentType).toMatch(/^application\/json/)
  })

  it('plays the steps in order and repeats the last one', async () => {
    const key = id()
    fake.script(key, [{ content: '{"n": 1}' }, { content: '{"n": 2}' }])
    const contents = []
    for (let i = 0; i < 3; i++) contents.push((await completion(key)).choices[0]!.message.content)
    expect(contents).toEqual(['{"n": 1}', '{"n": 2}', '{"n": 2}'])
  })

  it('returns malformed content verbatim, with finish_reason length when asked', async () => {
    const key = id()
    fake.script(key, [{ content: '{"image_1_is_phot', finishReason: 'length' }])
    const answer = await completion(key)
    expect(answer.choices[0]!.message.content).toBe('{"image_1_is_phot')
    expect(answer.choices[0]!.finish_reason).toBe('length')
  })

  it('answers a refusal with null content', async () => {
    const key = id()
    fake.script(key, [{ refusal: "I'm sorry, I can't help with that." }])
    const message = (await completion(key)).choices[0]!.message
    expect(message.content).toBeNull()
    expect(message.refusal).toBe("I'm sorry, I can't help with that.")
  })

  it('keeps scenarios of different identifiers apart', async () => {
    const [a, b] = [id(), id()]
    fake.script(a, [{ content: '{"who": "a"}' }])
    fake.script(b, [{ content: '{"who": "b"}' }])
    const [ra, rb] = await Promise.all([completion(a), completion(b)])
    expect(ra.choices[0]!.message.content).toBe('{"who": "a"}')
    expect(rb.choices[0]!.message.content).toBe('{"who": "b"}')
    expect(fake.requests(a)).toHaveLength(1)
    expect(fake.requests(b)).toHaveLength(1)
  })

  it('fails loudly (500) for a request nobody scripted', async () => {
    const key = id()
    const err = await completion(key).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.InternalServerError)
    expect((err as APIError).message).toContain(key)
  })
})

describe('errors in OpenAI shape', () => {
  it('429 with retry-after, parsed by the SDK as a RateLimitError', async () => {
    const key = id()
    fake.script(key, [{ error: { status: 429 }, retryAfter: 7 }])
    const err = (await completion(key).catch((e: unknown) => e)) as APIError
    expect(err).toBeInstanceOf(OpenAI.RateLimitError)
    expect(err.status).toBe(429)
    expect(err.code).toBe('rate_limit_exceeded')
    expect(err.type).toBe('requests')
    expect(err.headers?.get('retry-after')).toBe('7')
  })

  it('500 as InternalServerError with type server_error', async () => {
    const key = id()
    fake.script(key, [{ error: { status: 500 } }])
    const err = (await completion(key).catch((e: unknown) => e)) as APIError
    expect(err).toBeInstanceOf(OpenAI.InternalServerError)
    expect(err.type).toBe('server_error')
    expect(err.error).toEqual({
      message: 'The server had an error while processing your request. Sorry about that!',
      type: 'server_error',
      param: null,
      code: null,
    })
  })

  it('the SDK retries 429 then 500 and succeeds, honouring retry-after', async () => {
    const key = id()
    fake.script(key, [
      { error: { status: 429 }, retryAfter: 0 },
      { error: { status: 500 } },
      { content: '{}' },
    ])
    const retrying = new OpenAI({ apiKey, baseURL: `${fake.url}/v1`, maxRetries: 2 })
    const answer = await retrying.chat.completions.create({
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'json please' }],
      safety_identifier: key,
    })
    expect(answer.choices[0]!.message.content).toBe('{}')
    expect(fake.requests(key)).toHaveLength(3)
  })

  it('401 without a key and with a wrong one', async () => {
    const none = await raw('/v1/chat/completions', { key: null, body: '{}' })
    expect(none.res.status).toBe(401)
    expect(none.json).toEqual({
      error: {
        message: expect.stringContaining("You didn't provide an API key"),
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    })

    const wrong = new OpenAI({ apiKey: 'sk-wrong-key-123456', baseURL: `${fake.url}/v1`, maxRetries: 0 })
    const err = (await wrong.chat.completions
      .create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)) as APIError
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(err.code).toBe('invalid_api_key')
    expect(err.message).toContain('sk-*********3456')
  })

  it('400 for unparseable JSON, missing parameters and JSON mode without "json"', async () => {
    const broken = await raw('/v1/chat/completions', { body: '{"model": ' })
    expect(broken.res.status).toBe(400)
    expect((broken.json!.error as { message: string }).message).toMatch(/could not parse the JSON body/)

    const noMessages = await raw('/v1/chat/completions', { body: JSON.stringify({ model: 'gpt-4.1' }) })
    expect(noMessages.res.status).toBe(400)
    expect(noMessages.json!.error).toMatchObject({ param: 'messages', code: 'missing_required_parameter' })

    const key = id()
    fake.script(key, [{ content: '{}' }])
    const err = (await client.chat.completions
      .create({
        model: 'gpt-4.1',
        response_format: { type: 'json_object' },
        messages: [{ role: 'user', content: 'hello' }],
        safety_identifier: key,
      })
      .catch((e: unknown) => e)) as APIError
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.message).toMatch(/must contain the word 'json'/)
  })

  it('400 for an image that is not one, or a bad detail', async () => {
    const key = id()
    fake.script(key, [{ content: '{}' }])
    const notImage = `data:image/jpeg;base64,${Buffer.from('hello').toString('base64')}`
    const err = (await client.chat.completions
      .create({
        model: 'gpt-4.1',
        safety_identifier: key,
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: notImage } }] }],
      })
      .catch((e: unknown) => e)) as APIError
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.code).toBe('invalid_image_format')

    const badDetail = await raw('/v1/chat/completions', {
      body: JSON.stringify({
        model: 'gpt-4.1',
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: jpegDataUrl, detail: 'ultra' } }],
          },
        ],
      }),
    })
    expect(badDetail.res.status).toBe(400)
    expect(badDetail.json!.error).toMatchObject({ code: 'invalid_value' })
  })

  it('404 in OpenAI shape for other paths', async () => {
    const other = await raw('/v1/completions', { body: '{}' })
    expect(other.res.status).toBe(404)
    expect(other.json).toEqual({
      error: {
        message: 'Invalid URL (POST /v1/completions)',
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    })
  })
})

describe('slow answers', () => {
  it('delays the answer, so a client timeout fires first, and survives the hang-up', async () => {
    const key = id()
    fake.script(key, [{ delayMs: 300, content: '{"slow": true}' }])
    const started = Date.now()
    expect((await completion(key)).choices[0]!.message.content).toBe('{"slow": true}')
    expect(Date.now() - started).toBeGreaterThanOrEqual(290)

    fake.script(key, [{ delayMs: 5000, content: '{}' }, { content: '{"after": true}' }])
    const impatient = new OpenAI({ apiKey, baseURL: `${fake.url}/v1`, maxRetries: 0, timeout: 200 })
    const timedOut = await impatient.chat.completions
      .create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], safety_identifier: key })
      .catch((e: unknown) => e)
    expect(timedOut).toBeInstanceOf(OpenAI.APIConnectionTimeoutError)
    // The abandoned request did not wedge the fake: the next step answers at once.
    expect((await completion(key)).choices[0]!.message.content).toBe('{"after": true}')
  })
})

describe('control API', () => {
  it('scripts, lists requests and forgets over HTTP with the same key', async () => {
    const key = id()
    const put = await raw(`/__fake/scenarios/${key}`, {
      method: 'PUT',
      body: JSON.stringify({ steps: [{ content: '{"via": "http"}' }] }),
    })
    expect(put.res.status).toBe(204)
    expect((await completion(key)).choices[0]!.message.content).toBe('{"via": "http"}')
    const listed = await raw(`/__fake/requests/${key}`, { method: 'GET' })
    expect(listed.res.status).toBe(200)
    expect(listed.json).toHaveLength(1)
    const gone = await raw(`/__fake/scenarios/${key}`, { method: 'DELETE' })
    expect(gone.res.status).toBe(204)
    expect(fake.requests(key)).toEqual([])

    const refused = await raw(`/__fake/scenarios/${key}`, { method: 'PUT', key: 'nope', body: '{}' })
    expect(refused.res.status).toBe(401)
    const empty = await raw(`/__fake/scenarios/${key}`, {
      method: 'PUT',
      body: JSON.stringify({ steps: [] }),
    })
    expect(empty.res.status).toBe(400)
  })
})
