import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { api, envWith, origin, problem } from './helpers'

/** Run the real Worker entry with a modified env (config is parsed per env object). */
async function fetchWith(path: string, overrides: Record<string, unknown>) {
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(origin + path), envWith(overrides), ctx)
  await waitOnExecutionContext(ctx)
  return res
}

describe('API docs gating', () => {
  it('serves the OpenAPI document and the docs page publicly in local', async () => {
    const doc = await api('/openapi.json')
    expect(doc.status).toBe(200)
    const spec = (await doc.json()) as { openapi: string; paths: Record<string, unknown>; components: any }
    expect(spec.openapi).toBe('3.1.0')
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/health',
        '/health/ready',
        '/api/v1/conversations/{peerId}/socket',
        '/api/v1/hub/socket',
      ]),
    )
    expect(spec.components.schemas.Problem).toBeDefined()
    const page = await api('/docs')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(await page.text()).toContain('/openapi.json')
  })

  it.each(['production', 'staging'])('does not register the docs in %s', async (environment) => {
    for (const path of ['/openapi.json', '/docs']) {
      const res = await fetchWith(path, {
        ENVIRONMENT: environment,
        NEON_LOCAL_PROXY: undefined,
        SMTP_HOST: 'smtp.example',
        SMTP_FROM: 'no-reply@rapport.example',
      })
      expect(res.status).toBe(404)
      expect((await problem(res)).code).toBe('not_found')
    }
  })
})

describe('health', () => {
  it('reports liveness without touching dependencies', async () => {
    const res = await fetchWith('/health', { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
  })

  it('is ready when PostgreSQL and Redis answer', async () => {
    const res = await api('/health/ready')
    expect(res.status).toBe(200)
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> }
    expect(body.status).toBe('ok')
    expect(body.checks.postgres?.ok).toBe(true)
    expect(body.checks.redis?.ok).toBe(true)
  })

  it('answers 503 naming PostgreSQL when the database is unreachable', async () => {
    const res = await fetchWith('/health/ready', { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' })
    expect(res.status).toBe(503)
    const body = await problem(res)
    expect(body.code).toBe('service_unavailable')
    expect(body.detail).toContain('postgres')
    expect(body.detail).not.toContain('redis')
    expect(body.errors?.map((e) => e.path)).toEqual(['postgres'])
    expect(body.errors?.[0]?.message).not.toContain('Failed query')
  })

  it('answers 503 naming Redis when Redis is unreachable', async () => {
    const res = await fetchWith('/health/ready', { UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:1' })
    expect(res.status).toBe(503)
    const body = await problem(res)
    expect(body.errors?.map((e) => e.path)).toEqual(['redis'])
  })
})
