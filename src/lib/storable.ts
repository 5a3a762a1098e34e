/**
 * Strings PostgreSQL can store. Its `text` and `jsonb` refuse the NUL character (U+0000) and UTF-8
 * cannot encode a lone UTF-16 surrogate (U+D800–U+DFFF without its pair), so a request carrying
 * either would fail inside the database — after a handler may already have done part of its
 * work. Requests are checked for them before any handler runs.
 */

/**
 * Whether `value` can be stored: no NUL and no lone surrogate.
 *
 * @example
 * isStorable('a\u0000b') // false
 * isStorable('\uD83D\uDE00') // true (a surrogate pair: 😀)
 */
export function isStorable(value: string): boolean {
  return !unstorable.test(value)
}

/** NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const unstorable = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * The path of the first string (or object key) in `value` that cannot be stored, or undefined
 * when every one can. Walks arrays and plain objects to a bounded depth (deeper input is left to
 * schema validation, which refuses it anyway).
 *
 * @example
 * unstorablePath({ a: [{ b: 'x\u0000' }] }) // ['a', '0', 'b']
 */
export function unstorablePath(value: unknown, depth = 0): string[] | undefined {
  if (typeof value === 'string') return isStorable(value) ? undefined : []
  if (depth > 32 || value === null || typeof value !== 'object') return undefined
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value)
  for (const [key, item] of entries) {
    if (!isStorable(key)) return [key.replaceAll('\u0000', '\\u0000')]
    const inner = unstorablePath(item, depth + 1)
    if (inner) return [key, ...inner]
  }
  return undefined
}
