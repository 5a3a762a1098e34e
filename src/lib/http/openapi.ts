import { z } from '@hono/zod-openapi'
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
      .array(z.object({ path: z.string().openapi({ example: 'body.email' }), message: z.string() }))
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
