import type { Context } from 'hono'
import { type ErrorCode, type FieldError, errorCodes, errorTitles } from './errors'

/** RFC 9457 problem details, plus Rapport's stable `code` and the request id. */
export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: ErrorCode
  requestId: string
  errors?: FieldError[]
}

export const problemContentType = 'application/problem+json'

/** The `type` URI of a code: stable, documented in the OpenAPI document. */
export const problemType = (code: ErrorCode) => `urn:rapport:problem:${code}`

/** Render a problem response for `code` on the current request. */
export function problemResponse(
  c: Context,
  code: ErrorCode,
  detail: string,
  extra: {
    errors?: FieldError[]
    headers?: Record<string, string>
    extensions?: Record<string, unknown>
  } = {},
): Response {
  const status = errorCodes[code]
  const body: Problem = {
    // Extension members first: the standard members can never be overridden by them.
    ...extra.extensions,
    type: problemType(code),
    title: errorTitles[code],
    status,
    detail,
    code,
    requestId: c.get('requestId') ?? '',
    ...(extra.errors?.length ? { errors: extra.errors } : {}),
  }
  // c.body (not `new Response`) keeps headers that earlier middleware prepared, e.g. X-Request-Id.
  return c.body(JSON.stringify(body), status, { ...extra.headers, 'content-type': problemContentType })
}
