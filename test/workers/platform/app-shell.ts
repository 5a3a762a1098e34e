import { env } from 'cloudflare:test'
import { createRoute, z } from '@hono/zod-openapi'
import { describe, expect, it } from 'vitest'
import { createApp } from '../../../src/app'
import { ConfigError, parseConfig } from '../../../src/config'
import { resolveClientIp } from '../../../src/middleware/client-ip'
import { api, envWith, problem } from '../helpers'

/** The real app plus routes that exercise the shell's body, error and IP handling. */
function appWithProbeRoutes() {
  const app = createApp('local')
  app.openapi(
    createRoute({
      method: 'post',
      path: '/probe/json',
      request: {
        body: {
          required: true,
          content: {
            'application/json': { schema: z.object({ email: z.email(), age: z.number().int().min(18) }) },
          },
        },
      },
      responses: { 200: { description: 'ok' } },
    }),
    (c) => c.json(c.req.valid('json'), 200),
  )
  app.get('/probe/throw', () => {
    throw new Error('connection string postgres://secret@db/internal leaked?')
  })
  app.get('/probe/ip', (c) => c.text(c.get('clientIp')))
  return app
}
const probe = appWithProbeRoutes()
const call = (path: string, init?: RequestInit, bindings = env) => probe.request(path, init, bindings)

describe('request id and headers', () => {
  it('answers every request with a fresh X-Request-Id and secure headers', async () => {
    const a = await api('/health')
    const b = await api('/health')
    expect(a.status).toBe(200)
    expect(await a.json()).toEqual({ status: 'ok' })
    expect(a.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'))
    expect(a.headers.get('x-content-type-options')).toBe('nosniff')
    expect(a.headers.get('strict-transport-security')).toContain('max-age=')
  })

  it('keeps a well-formed client request id and replaces a malformed one', async () => {
    const kept = await api('/health', { headers: { 'X-Request-Id': 'client-abc_123' } })
    expect(kept.headers.get('x-request-id')).toBe('client-abc_123')
    const replaced = await api('/health', { headers: { 'X-Request-Id': 'bad id <script>' } })
    expect(replaced.headers.get('x-request-id')).not.toContain('script')
  })
})

describe('problem+json errors', () => {
  it('answers an unknown route with a 404 problem carrying the request id', async () => {
    const res = await api('/no/such/route')
    expect(res.status).toBe(404)
    const body = await problem(res)
    expect(body).toMatchObject({ status: 404, code: 'not_found', type: 'urn:rapport:problem:not_found' })
    expect(body.requestId).toBe(res.headers.get('x-request-id'))
  })

  it('answers an oversize body with 413 before reading it', async () => {
    const res = await api('/health', { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1) })
    expect(res.status).toBe(413)
    expect((await problem(res)).code).toBe('payload_too_large')
  })

  it('honours MAX_BODY_BYTES from config', async () => {
    const res = await call(
      '/probe/json',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'a'.repeat(3000) }),
      },
      envWith({ MAX_BODY_BYTES: '2048' }),
    )
    expect(res.status).toBe(413)
  })

  it('answers malformed JSON with 400 malformed_body', async () => {
    const res = await call('/probe/json', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"email": ',
    })
    expect(res.status).toBe(400)
    expect((await problem(res)).code).toBe('malformed_body')
  })

  it('answers a wrong content type with 415', async () => {
    const res = await call('/probe/json', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'email=a@b.c',
    })
    expect(res.status).toBe(415)
    expect((await problem(res)).code).toBe('unsupported_media_type')
  })

  it('answers schema violations with 422 naming every offending field', async () => {
    const res = await call('/probe/json', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'not-an-email', age: 12 }),
    })
    expect(res.status).toBe(422)
    const body = await problem(res)
    expect(body.code).toBe('validation_failed')
    expect(body.errors?.map((e) => e.path).sort()).toEqual(['json.age', 'json.email'])
  })

  it('accepts a valid body', async () => {
    const res = await call('/probe/json', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'a@example.com', age: 30 }),
    })
    expect(res.status).toBe(200)
  })

  it('turns an unexpected throw into a 500 problem that leaks nothing internal', async () => {
    const res = await call('/probe/throw')
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(text).not.toContain('postgres://')
    expect(text).not.toMatch(/at .*\.ts:\d+/)
    const body = JSON.parse(text)
    expect(body).toMatchObject({ code: 'internal_error', status: 500 })
    expect(body.requestId).toBe(res.headers.get('x-request-id'))
  })
})

describe('client IP', () => {
  const headers = { 'CF-Connecting-IP': '198.51.100.9', 'X-Forwarded-For': '6.6.6.6, 198.51.100.9' }

  it('ignores a forged X-Forwarded-For by default', async () => {
    const res = await call('/probe/ip', { headers })
    expect(await res.text()).toBe('198.51.100.9')
  })

  it('reads X-Forwarded-For only as far as TRUSTED_PROXY_HOPS allows', async () => {
    const res = await call('/probe/ip', { headers }, envWith({ TRUSTED_PROXY_HOPS: '1' }))
    expect(await res.text()).toBe('6.6.6.6')
  })

  it('falls back to CF-Connecting-IP when the chain is short or garbage', () => {
    const h = (xff: string) => new Headers({ 'cf-connecting-ip': '2001:db8::1', 'x-forwarded-for': xff })
    expect(resolveClientIp(h(''), 2)).toBe('2001:db8::1')
    expect(resolveClientIp(h('not-an-ip, 2001:db8::1'), 1)).toBe('2001:db8::1')
    expect(resolveClientIp(h('203.0.113.5, 10.0.0.1, 2001:db8::1'), 2)).toBe('203.0.113.5')
    expect(resolveClientIp(new Headers(), 0)).toBe('unknown')
  })
})

describe('CORS', () => {
  it('allows any origin without credentials by default', async () => {
    const res = await api('/health', { headers: { Origin: 'https://app.example' } })
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('access-control-allow-credentials')).toBeNull()
  })

  it('reflects only configured origins, with credentials', async () => {
    const restricted = envWith({ CORS_ORIGINS: 'https://app.example, https://admin.example' })
    const ok = await call(
      '/health',
      {
        method: 'OPTIONS',
        headers: { Origin: 'https://admin.example', 'Access-Control-Request-Method': 'POST' },
      },
      restricted,
    )
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://admin.example')
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true')
    const other = await call('/health', { headers: { Origin: 'https://evil.example' } }, restricted)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('configuration', () => {
  it('names every missing or invalid variable at once', () => {
    let error: unknown
    try {
      parseConfig({ ENVIRONMENT: 'prod', UPSTASH_REDIS_REST_URL: 'nope', JWT_SECRET: 'short' })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    const names = (error as ConfigError).problems.map((p) => p.variable).sort()
    expect(names).toEqual([
      'DATABASE_URL',
      'ENVIRONMENT',
      'JWT_SECRET',
      'UPSTASH_REDIS_REST_TOKEN',
      'UPSTASH_REDIS_REST_URL',
    ])
  })

  it('refuses the local Neon proxy outside local and requires SMTP in production', () => {
    const base = {
      DATABASE_URL: 'postgres://u:p@db/x',
      UPSTASH_REDIS_REST_URL: 'https://r.example',
      UPSTASH_REDIS_REST_TOKEN: 't',
      JWT_SECRET: 'x'.repeat(32),
    }
    expect(() => parseConfig({ ...base, ENVIRONMENT: 'staging', NEON_LOCAL_PROXY: '127.0.0.1:1' })).toThrow(
      /NEON_LOCAL_PROXY is only allowed when ENVIRONMENT=local/,
    )
    expect(() => parseConfig({ ...base, ENVIRONMENT: 'production' })).toThrow(
      /SMTP_HOST is required in production/,
    )
    expect(() => parseConfig({ ...base, ENVIRONMENT: 'staging' })).toThrow(
      /PUBLIC_URL is required when ENVIRONMENT=staging/,
    )
    const ok = parseConfig({
      ...base,
      ENVIRONMENT: 'production',
      PUBLIC_URL: 'https://api.rapport.example/',
      SMTP_HOST: 'smtp.example',
      SMTP_FROM: 'a@b.c',
    })
    expect(ok.publicUrl).toBe('https://api.rapport.example')
    // Locally it may be left out: wrangler dev's default address.
    expect(parseConfig({ ...base, ENVIRONMENT: 'local' }).publicUrl).toBe('http://localhost:8787')
    expect(ok.jwt.accessTtlSeconds).toBe(30 * 60)
    expect(ok.rateLimit).toMatchObject({ defaultLimit: 600, defaultPeriodSeconds: 60, failMode: 'open' })
  })

  it('answers a misconfigured deployment with a 500 problem that names nothing secret', async () => {
    const res = await call('/health', undefined, envWith({ JWT_SECRET: undefined }))
    expect(res.status).toBe(500)
    const body = await problem(res)
    expect(body.code).toBe('internal_error')
    expect(body.detail).toMatch(/misconfigured/)
  })
})
