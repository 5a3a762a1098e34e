import type { MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import { ApiError } from '../lib/http/errors'
import { unstorablePath } from '../lib/storable'
import type { AppEnv } from '../types'

const refusal = (path: string[]) =>
  new ApiError('validation_failed', 'The request contains a character that cannot be stored', {
    errors: [
      {
        path: path.join('.'),
        message: 'Must not contain NUL (U+0000) or unpaired surrogates (U+D800–U+DFFF)',
      },
    ],
  })

/**
 * Refuse, with 422 `validation_failed` naming the field, any path parameter, query parameter, JSON
 * body value or form field that PostgreSQL cannot store (src/lib/storable.ts). Field paths use
 * the same locations as schema validation errors (`param.id`, `query.q`, `json.about.0`,
 * `form.name`). Bodies are read through Hono's body cache, so the route's validator reads them
 * again for free; a body that does not parse is left to that validator. Files in multipart bodies
 * are not strings and are not checked.
 */
export const refuseUnstorableInput = createMiddleware<AppEnv>(async (c, next) => {
  const param = unstorablePath(c.req.param())
  if (param) throw refusal(['param', ...param])
  const query = unstorablePath(c.req.queries())
  if (query) throw refusal(['query', ...query.slice(0, 1)])
  const type = c.req.header('content-type')?.toLowerCase() ?? ''
  if (type.startsWith('application/json') || /^application\/[\w.+-]+\+json/.test(type)) {
    let body: unknown
    try {
      body = await c.req.json()
    } catch {
      body = undefined
    }
    const json = unstorablePath(body)
    if (json) throw refusal(['json', ...json])
  } else if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
    let form: Record<string, unknown> | undefined
    try {
      form = await c.req.parseBody({ all: true })
    } catch {
      form = undefined
    }
    const field = unstorablePath(form)
    if (field) throw refusal(['form', ...field.slice(0, 1)])
  }
  await next()
})

/**
 * A route definition with {@link refuseUnstorableInput} after its own middleware (so after
 * authentication and rate limiting) and before its validators and handler.
 *
 * @example
 * router.openapi(withStorableInput(route), handler)
 */
export function withStorableInput<R extends { middleware?: unknown }>(route: R): R {
  const own = (route.middleware === undefined ? [] : [route.middleware].flat()) as MiddlewareHandler[]
  return { ...route, middleware: [...own, refuseUnstorableInput] }
}
