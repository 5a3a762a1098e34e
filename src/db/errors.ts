import { postgresErrorOf } from '../lib/log'

/**
 * What a failed database call means for the request that made it:
 *
 * - `unavailable`: the database could not be reached or could not serve (no connection, the
 *   connection dropped, too many connections, shutting down). Nothing is wrong with the request;
 *   the client should retry, so it is a 503 with Retry-After, never a 500.
 * - `invalid_input`: Postgres refused a value (SQLSTATE class 22, data exceptions: a NUL or lone
 *   surrogate it cannot store, a malformed uuid, a number out of range; 54000, a value too large
 *   to index). Input validation should have caught it first; when it slips through it is still
 *   the request's fault, a 422.
 */
export type DatabaseFailure = 'unavailable' | 'invalid_input'

/** Messages the Neon driver (HTTP and WebSocket) and pg give when no statement reached Postgres. */
const unreachable =
  /Error connecting to database|Server error \(HTTP status 5\d\d\)|Connection terminated|connection (refused|closed|error)|ECONNREFUSED|ECONNRESET|fetch failed|Network connection lost|WebSocket|timeout exceeded when trying to connect/i

/**
 * Classify `err` (anything a drizzle or Neon call threw); undefined when it is not a database
 * failure of either kind (a constraint violation, a bug), which callers handle as before.
 *
 * @example
 * if (databaseFailure(err) === 'unavailable') throw new ApiError('service_unavailable', …)
 */
export function databaseFailure(err: unknown): DatabaseFailure | undefined {
  const pg = postgresErrorOf(err)
  if (pg) {
    const { code } = pg
    if (code.startsWith('22') || code === '54000') return 'invalid_input'
    if (code.startsWith('08') || code.startsWith('53') || /^57P0[1-3]$/.test(code)) return 'unavailable'
    return undefined
  }
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const message = (e as { message?: unknown }).message
    if (typeof message === 'string' && unreachable.test(message)) return 'unavailable'
    e = (e as { cause?: unknown }).cause ?? (e as { sourceError?: unknown }).sourceError
  }
  return undefined
}

/** Seconds a client is told to wait before retrying while the database is unreachable. */
export const databaseRetryAfterSeconds = 5

/**
 * Whether a unique index refused a row (SQLSTATE 23505): a check-then-write that lost a race, or
 * a retry of something already stored.
 *
 * @example
 * if (isUniqueViolation(err)) throw new ApiError('conflict', 'That name is taken')
 */
export function isUniqueViolation(err: unknown): boolean {
  return postgresErrorOf(err)?.code === '23505'
}
