/**
 * Structured logging: one JSON object per line, which Workers Logs indexes field by field.
 * Handlers never log directly for the access log — the request middleware emits one wide
 * event per request — but services log notable events (warnings, failures) through this.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void
  info(event: string, fields?: Record<string, unknown>): void
  warn(event: string, fields?: Record<string, unknown>): void
  error(event: string, fields?: Record<string, unknown>): void
}

/**
 * @example
 * const log = createLogger('info', { requestId })
 * log.warn('redis.unavailable', { error: describeError(err) })
 */
export function createLogger(level: LogLevel = 'info', base: Record<string, unknown> = {}): Logger {
  const emit = (at: LogLevel, event: string, fields?: Record<string, unknown>) => {
    if (rank[at] < rank[level]) return
    // An Error handed over as a field is described the safe way (no query parameters, no input).
    const safe: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(fields ?? {})) {
      safe[name] = value instanceof Error ? describeError(value) : value
    }
    const line = JSON.stringify({ level: at, event, time: new Date().toISOString(), ...base, ...safe })
    if (at === 'error') console.error(line)
    else if (at === 'warn') console.warn(line)
    else console.log(line)
  }
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
  }
}

/** A Postgres SQLSTATE: five digits or capitals (`23505`, `22P05`, `08006`). */
const sqlState = /^[0-9A-Z]{5}$/

/** The first Postgres error in `err`'s cause chain (the driver's error, under drizzle's wrapper). */
export function postgresErrorOf(err: unknown): { code: string; [field: string]: unknown } | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && sqlState.test(code)) return e as { code: string }
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** The SQL text of the statement that failed (drizzle's wrapper keeps it as `query`). */
function failedStatement(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const query = (e as { query?: unknown }).query
    if (typeof query === 'string') return query
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** The message of the deepest cause (the one closest to the network or the server). */
function innermostMessage(err: unknown): string | undefined {
  let deepest: unknown = err
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    deepest = e
    e = (e as { cause?: unknown }).cause
  }
  if (deepest === err) return undefined
  return deepest instanceof Error ? `${deepest.name}: ${deepest.message}`.slice(0, 200) : undefined
}

/**
 * The first words of a statement (`select "id", "email" from "users"` → `select from users`):
 * enough to find the call site, never a value. Quoted identifiers keep their name; literals and
 * placeholders are dropped.
 */
export function statementHead(query: string): string {
  const words = query
    .replace(/'(?:[^']|'')*'/g, ' ')
    .replace(/\$\d+/g, ' ')
    .replace(/"/g, '')
    .split(/[^A-Za-z0-9_.]+/)
    .filter((w) => w && !/^\d/.test(w))
  const keywords =
    /^(select|insert|into|update|delete|from|with|values|set|join|where|returning|on|conflict|do|nothing|begin|commit|rollback)$/i
  // The verb and every table it names: the keyword that follows each of from/into/update/join.
  const head: string[] = []
  for (let i = 0; i < words.length && head.length < 8; i++) {
    const w = words[i]!
    if (i === 0) head.push(w.toLowerCase())
    else if (/^(from|into|update|join)$/i.test(w) && words[i + 1] && !keywords.test(words[i + 1]!)) {
      head.push(w.toLowerCase(), words[i + 1]!)
    }
  }
  return head.join(' ')
}

/**
 * Plain-object form of an error for logs. It never carries data the request sent: a database
 * error is logged as its SQLSTATE, the statement's first words and the names of the constraint,
 * table and column involved — not its message (Postgres quotes input there, e.g. `invalid input
 * syntax for type uuid: "…"`) and not the parameters (drizzle's message lists them, so a chat
 * message's body or a password hash would end up in the logs). Other errors keep their message;
 * a stack is logged without its first line, which repeats the message.
 *
 * @example
 * log.error('request.unhandled', { error: describeError(err) })
 */
export function describeError(err: unknown): Record<string, unknown> {
  const pg = postgresErrorOf(err)
  const query = failedStatement(err)
  // The frames only: the lines before the first frame repeat the message, which may span lines.
  const stack =
    err instanceof Error && err.stack
      ? err.stack
          .split('\n')
          .filter((line) => /^\s+at /.test(line))
          .join('\n')
      : undefined
  if (pg || query !== undefined) {
    return {
      name: err instanceof Error ? err.name : 'DatabaseError',
      pgCode: pg?.code,
      statement: query === undefined ? undefined : statementHead(query),
      constraint: typeof pg?.constraint === 'string' ? pg.constraint : undefined,
      table: typeof pg?.table === 'string' ? pg.table : undefined,
      column: typeof pg?.column === 'string' ? pg.column : undefined,
      // No SQLSTATE: the statement never reached Postgres (connection refused, timeout), and
      // the driver's message says why without quoting any value.
      reason: pg ? undefined : innermostMessage(err),
      stack,
    }
  }
  if (err instanceof Error) {
    return {
      name: err.name,
      message: err.message.slice(0, 300),
      stack,
      cause: err.cause === undefined ? undefined : describeError(err.cause),
    }
  }
  return { message: String(err).slice(0, 300) }
}

/**
 * A gate that opens at most once per `intervalMs` (per isolate), for failures that would otherwise
 * log the same line on every request while a dependency is down. Holds only a timestamp.
 *
 * @example
 * const redisDownLog = everyInterval(60_000)
 * if (redisDownLog()) log.warn('redis.unavailable', { error: describeError(err) })
 */
export function everyInterval(intervalMs: number): () => boolean {
  let last = -Infinity
  return () => {
    const now = Date.now()
    if (now - last < intervalMs) return false
    last = now
    return true
  }
}
