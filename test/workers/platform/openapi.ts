import { describe, expect, it } from 'vitest'
import { createApp } from '../../../src/app'
import { api } from '../helpers'

interface Operation {
  responses: Record<string, unknown>
  security?: unknown[]
}

/** The OpenAPI document must describe every route the app serves — no undocumented endpoints. */
describe('OpenAPI document', () => {
  it('lists every registered route with its method, and documents error responses for each', async () => {
    const spec = (await (await api('/openapi.json')).json()) as {
      paths: Record<string, Record<string, Operation>>
    }
    const documented = new Set(
      Object.entries(spec.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    )
    const served = new Set(
      createApp('local')
        .routes.filter((r) => r.method !== 'ALL' && !['/openapi.json', '/docs'].includes(r.path))
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    )
    expect(served.size).toBeGreaterThan(40)
    expect([...served].filter((r) => !documented.has(r))).toEqual([])
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        // Every operation can at least fail unexpectedly; most name their 4xx answers too.
        expect(Object.keys(op.responses), `${method} ${path}`).toContain('500')
      }
    }
  })

  it('marks every authenticated operation with the bearer scheme', async () => {
    const spec = (await (await api('/openapi.json')).json()) as {
      paths: Record<string, Record<string, Operation>>
      components: { securitySchemes: Record<string, unknown> }
    }
    expect(spec.components.securitySchemes.bearerAuth).toBeDefined()
    const withAuth = Object.values(spec.paths).flatMap((ops) =>
      Object.values(ops).filter((op) => Object.keys(op.responses).includes('401')),
    )
    expect(withAuth.length).toBeGreaterThan(10)
  })
})
