import type { ContentfulStatusCode } from 'hono/utils/http-status'

/**
 * Every error code Rapport answers with, and the HTTP status it maps to. Codes are part of the
 * public contract: clients switch on `code`, never on `title` or `detail`.
 */
export const errorCodes = {
  bad_request: 400,
  invalid_signature: 400,
  invalid_state: 400,
  malformed_body: 400,
  unauthorized: 401,
  invalid_code: 401,
  challenge_expired: 401,
  refresh_token_reused: 401,
  invalid_id_token: 401,
  invalid_webhook_auth: 401,
  forbidden: 403,
  banned: 403,
  ip_blocked: 403,
  tier_required: 403,
  verification_required: 403,
  blocked: 403,
  spam: 403,
  club_quota_exceeded: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  onboarding_required: 409,
  already_onboarded: 409,
  selfie_reused: 409,
  not_unique: 409,
  too_many_filters: 409,
  link_used: 409,
  email_not_verified: 409,
  last_sign_in_method: 409,
  already_subscribed: 409,
  link_expired: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  upgrade_required: 426,
  validation_failed: 422,
  message_too_long: 422,
  disposable_email: 422,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>

export type ErrorCode = keyof typeof errorCodes

export const errorTitles: Record<ErrorCode, string> = {
  bad_request: 'Bad request',
  invalid_signature: 'Invalid webhook signature',
  invalid_state: 'Invalid sign-in state',
  malformed_body: 'Malformed request body',
  unauthorized: 'Authentication required',
  invalid_code: 'Wrong code',
  challenge_expired: 'Sign-in code expired',
  refresh_token_reused: 'Refresh token already used',
  invalid_id_token: 'Invalid identity token',
  invalid_webhook_auth: 'Webhook not authorized',
  forbidden: 'Forbidden',
  banned: 'Banned',
  ip_blocked: 'Address refused',
  tier_required: 'Higher tier required',
  verification_required: 'More verification required',
  blocked: 'Blocked',
  spam: 'Refused as spam',
  club_quota_exceeded: 'Club quota reached',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  conflict: 'Conflict',
  onboarding_required: 'Finish onboarding first',
  already_onboarded: 'Already onboarded',
  selfie_reused: 'Selfie already used',
  not_unique: 'Not unique',
  too_many_filters: 'Too many filters',
  link_used: 'Link already used',
  email_not_verified: 'Email not verified by the provider',
  last_sign_in_method: 'Last way to sign in',
  already_subscribed: 'Already subscribed',
  link_expired: 'Link expired',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  range_not_satisfiable: 'Range not satisfiable',
  upgrade_required: 'Upgrade required',
  validation_failed: 'Validation failed',
  message_too_long: 'Message too long',
  disposable_email: 'Disposable email address',
  rate_limited: 'Too many requests',
  internal_error: 'Internal server error',
  service_unavailable: 'Service unavailable',
}

/** One offending field: a JSON-pointer-like dotted path (`body.email`, `query.page`) and why. */
export interface FieldError {
  path: string
  message: string
}

/**
 * The one error type thrown anywhere in Rapport; the app's `onError` renders it as
 * `application/problem+json`.
 *
 * @example
 * throw new ApiError('not_found', 'No profile with that id')
 * throw new ApiError('validation_failed', 'Invalid body', { errors: [{ path: 'body.email', message: 'Invalid email' }] })
 */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode
  readonly errors?: FieldError[]
  readonly headers?: Record<string, string>
  /** RFC 9457 extension members a client needs to act on the problem, e.g. `{ subreason }`. */
  readonly extensions?: Record<string, unknown>

  constructor(
    readonly code: ErrorCode,
    detail?: string,
    options: {
      errors?: FieldError[]
      headers?: Record<string, string>
      extensions?: Record<string, unknown>
      cause?: unknown
    } = {},
  ) {
    super(detail ?? errorTitles[code], { cause: options.cause })
    this.name = 'ApiError'
    this.status = errorCodes[code]
    this.errors = options.errors
    this.headers = options.headers
    this.extensions = options.extensions
  }
}

/** Map an HTTP status (from Hono's own HTTPException) to the closest Rapport code. */
export function codeForStatus(status: number): ErrorCode {
  const match = (Object.entries(errorCodes) as [ErrorCode, number][]).find(([, s]) => s === status)
  if (status === 400) return 'malformed_body'
  return match ? match[0] : status >= 500 ? 'internal_error' : 'bad_request'
}
