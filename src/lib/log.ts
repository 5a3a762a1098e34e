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
 * log.warn('redis.unavailable', { error: String(err) })
 */
export function createLogger(level: LogLevel = 'info', base: Record<string, unknown> = {}): Logger {
  const emit = (at: LogLevel, event: string, fields?: Record<string, unknown>) => {
    if (rank[at] < rank[level]) return
    const line = JSON.stringify({ level: at, event, time: new Date().toISOString(), ...base, ...fields })
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

/** Plain-object form of an error for logs: name, message and stack, never `[object Object]`. */
export function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    return {
      name: err.name,
      message: err.message,
      stack: err.stack,
      cause: err.cause ? String(err.cause) : undefined,
    }
  }
  return { message: String(err) }
}
