import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import worker from '../../../src/index'
import { startSession } from '../../../src/services/accounts/sessions'
import { api, envWith, localOnlyBindings, origin, problem, services } from '../helpers'
import { bearer, signIn, uniqueEmail } from '../auth-helpers'
import { insertUsers } from '../fixtures'

/** Run the real Worker entry with a modified env (config is parsed per env object). */
async function fetchWith(
  path: string,
  overrides: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(origin + path, { headers }), envWith(overrides), ctx)
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
    // The page loads swagger-ui from this server's static assets, never from a CDN.
    const html = await page.text()
    expect(html).toContain('src="/docs/swagger-ui/swagger-ui-bundle.js"')
    expect(html).not.toMatch(/https?:\/\//)
  })

  const staging = {
    ENVIRONMENT: 'staging',
    ...localOnlyBindings,
    SMTP_HOST: 'smtp.example',
    SMTP_FROM: 'no-reply@rapport.example',
  }

  it('restricts the docs to admins in staging: 401 anonymous, 403 member, 200 admin', async () => {
    const s = services()
    const member = await signIn()
    const [admin] = await insertUsers([
      { email: uniqueEmail(), emailDisplay: 'admin@example.com', role: 'admin', status: 'active' },
    ])
    const adminTokens = await startSession(s, admin!, { client: 'web', ip: '203.0.113.1' })
    // Staging refuses the local Neon proxy, so warm the account cache (Redis) through the local env.
    for (const t of [member.accessToken, adminTokens.accessToken]) {
      expect((await api('/api/v1/me', { headers: bearer(t) })).status).toBe(200)
    }
    for (const path of ['/openapi.json', '/docs']) {
      expect((await fetchWith(path, staging)).status).toBe(401)
      const asMember = await fetchWith(path, staging, bearer(member.accessToken))
      expect(asMember.status).toBe(403)
      expect((await problem(asMember)).code).toBe('forbidden')
      expect((await fetchWith(path, staging, bearer(adminTokens.accessToken))).status).toBe(200)
    }
  })

  it.each(['production'])('does not register the docs in %s', async (environment) => {
    for (const path of ['/openapi.json', '/docs']) {
      const res = await fetchWith(path, {
        ENVIRONMENT: environment,
        ...localOnlyBindings,
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
    // Liveness is the same for everyone: publicCache() (see http-cache.test.ts).
    expect(res.headers.get('cache-control')).toBe('public, max-age=30')
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
