import { type RouteConfig, z } from '@hono/zod-openapi'
import { type ErrorCode, errorCodes } from './errors'
import { problemContentType } from './problem'

/** The problem+json body every error response carries (RFC 9457 + `code` + `requestId`). */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:rapport:problem:validation_failed' }),
    title: z.string().openapi({ example: 'Validation failed' }),
    status: z.number().int().openapi({ example: 422 }),
    detail: z.string().openapi({ example: 'The request did not match the schema' }),
    code: z.enum(Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]]),
    requestId: z.string().openapi({ example: '6c1b9a4e-1f7e-4a57-9a57-2f1f2c9d1a11' }),
    errors: z
      .array(z.object({ path: z.string().openapi({ example: 'json.email' }), message: z.string() }))
      .optional(),
  })
  .openapi('Problem')

const descriptions: Record<number, string> = {
  400: 'Malformed request (e.g. invalid JSON)',
  401: 'Missing, invalid, expired or revoked credentials',
  403: 'Authenticated but not allowed',
  404: 'No such resource (also answered for resources of other users)',
  409: 'Conflicts with the current state',
  413: 'Request body too large',
  415: 'Unsupported Content-Type',
  422: 'Validation failed; `errors` lists the offending fields',
  426: 'This endpoint only accepts a WebSocket upgrade',
  429: 'Rate limited; see Retry-After and RateLimit-* headers',
  500: 'Unexpected error; quote the requestId when reporting it',
  503: 'A dependency is unavailable',
}

type Status = keyof typeof descriptions

/**
 * OpenAPI error responses to spread into a route's `responses`, so every route documents the
 * same problem+json shape.
 *
 * @example
 * responses: { 200: {...}, ...errorResponses(401, 404, 422) }
 */
export function errorResponses<S extends Status>(...statuses: S[]) {
  const out = {} as Record<
    S,
    { description: string; content: { [problemContentType]: { schema: typeof ProblemSchema } } }
  >
  for (const status of [...statuses, 500 as S]) {
    out[status] = {
      description: descriptions[status] ?? 'Error',
      content: { [problemContentType]: { schema: ProblemSchema } },
    }
  }
  return out
}

/**
 * A required JSON request body for `createRoute`. zod-openapi then answers a wrong Content-Type
 * with 415, malformed JSON with 400 and schema violations with 422 (field paths under `json.`).
 *
 * @example
 * request: { body: jsonBody(z.object({ email: z.string() })) }
 */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } } as const
}

/**
 * Response headers the server sends, documented once under `components.headers` and referenced
 * from every response that carries them.
 */
export const responseHeaders = {
  'X-Request-Id': {
    description:
      'The request id: the client’s own `X-Request-Id` when it sent one (≤ 128 word characters), a new uuid otherwise. Quote it when reporting a problem.',
    schema: { type: 'string' as const, maxLength: 128 },
  },
  'RateLimit-Limit': {
    description: 'Requests allowed in the current window of the tightest limit on this route',
    schema: { type: 'integer' as const, minimum: 0 },
  },
  'RateLimit-Remaining': {
    description: 'Requests left in that window',
    schema: { type: 'integer' as const, minimum: 0 },
  },
  'RateLimit-Reset': {
    description: 'Seconds until that window resets',
    schema: { type: 'integer' as const, minimum: 0 },
  },
  'Retry-After': {
    description: 'Seconds to wait before trying again',
    schema: { type: 'integer' as const, minimum: 1 },
  },
}

type HeaderName = keyof typeof responseHeaders
const headerRef = (name: HeaderName) => ({ $ref: `#/components/headers/${name}` })

type Responses = RouteConfig['responses']
type ResponseObject = Responses[string]

function hasSchema(part: unknown): boolean {
  return part !== undefined && part !== null
}

function isBearer(security: RouteConfig['security']): 'required' | 'optional' | 'none' {
  if (!security || security.length === 0) return 'none'
  const needs = security.map((requirement) => Object.keys(requirement).length > 0)
  if (needs.every(Boolean)) return 'required'
  return needs.some(Boolean) ? 'optional' : 'none'
}

/**
 * Completes a route's OpenAPI description from what the app's shared machinery does to every
 * route, so no route has to repeat it and none can forget it:
 * - `security: []` when the route declares none (a public operation);
 * - the error responses the shared middleware can give: 401 with a bearer token (an invalid token
 *   is refused even where one is optional), 400/413/415/422 for a JSON body, 422 for path or
 *   query parameters, 404 for routes that address a resource by path, 429 on rate-limited routes,
 *   500 everywhere;
 * - `X-Request-Id` on every response, `RateLimit-*` on every response of a rate-limited route and
 *   `Retry-After` on its 429 and on any 503.
 *
 * @example
 * router.openapi(completeRoute(route, { rateLimited: true }), handler)
 */
export function completeRoute<R extends RouteConfig>(route: R, opts: { rateLimited: boolean }): R {
  const security = route.security ?? []
  const bearer = isBearer(security)
  const request = route.request
  const body = request?.body as { content?: Record<string, unknown> } | undefined
  const jsonRequest = body?.content?.['application/json'] !== undefined
  const statuses: Status[] = [500]
  if (bearer !== 'none') statuses.push(401)
  if (jsonRequest) statuses.push(400, 413, 415, 422)
  if (hasSchema(request?.params) || hasSchema(request?.query)) statuses.push(422)
  if (hasSchema(request?.params)) statuses.push(404)
  if (opts.rateLimited) statuses.push(429)

  const responses: Responses = { ...errorResponses(...statuses), ...route.responses }
  for (const [status, response] of Object.entries(responses)) {
    responses[status] = withHeaders(Number(status), response, opts.rateLimited)
  }
  return { ...route, security, responses }
}

function withHeaders(status: number, response: ResponseObject, rateLimited: boolean): ResponseObject {
  if ('$ref' in response) return response
  const names: HeaderName[] = ['X-Request-Id']
  if (rateLimited) names.push('RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset')
  if ((rateLimited && status === 429) || status === 503) names.push('Retry-After')
  const own = response.headers
  if (own !== undefined && own instanceof z.ZodType) return response
  const headers = { ...Object.fromEntries(names.map((n) => [n, headerRef(n)])), ...own }
  return { ...response, headers }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/**
 * Repairs what the generator writes for a nullable use of a named schema:
 * `allOf: [{$ref}, {type: [t, "null"]}]` demands both (so null was never valid) — it becomes
 * `anyOf: [{$ref}, {type: "null"}]`, keeping the use's description.
 *
 * @example
 * normalizeDocument(app.getOpenAPI31Document(info))
 */
export function normalizeDocument<D>(document: D): D {
  return repair(document as Json) as D
}

function repair(node: Json): Json {
  if (Array.isArray(node)) return node.map(repair)
  if (node === null || typeof node !== 'object') return node
  const out: { [key: string]: Json } = {}
  for (const [key, value] of Object.entries(node)) out[key] = repair(value)
  const allOf = out.allOf
  if (Array.isArray(allOf) && allOf.length === 2) {
    const [ref, rest] = allOf as [Json, Json]
    if (isObject(ref) && typeof ref.$ref === 'string' && isObject(rest)) {
      const { type, ...meta } = rest
      const nullable = Array.isArray(type) && type.includes('null')
      const onlyMeta = Object.keys(meta).every((k) => ['description', 'example', 'deprecated'].includes(k))
      if (nullable && onlyMeta) {
        const { allOf: _, ...siblings } = out
        return { ...siblings, anyOf: [ref, { type: 'null' }], ...meta }
      }
    }
  }
  return out
}

function isObject(value: Json): value is { [key: string]: Json } {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
