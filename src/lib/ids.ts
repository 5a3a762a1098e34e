/**
 * Whether a path segment is a UUID (any version, either case), i.e. an id rather than a name:
 * usernames and URL slugs never take that shape (src/services/profiles/slug-format.ts refuses it), so routes that
 * accept "id or name" can tell them apart without a lookup.
 *
 * @example
 * isUuid('0b5b9c3e-58a1-4b0e-9f55-1f1c4e0b6a9d') // true
 * isUuid('ada-lovelace') // false
 */
export function isUuid(segment: string): boolean {
  return uuidPattern.test(segment)
}

/** A UUID of any version, in either case: the one id check (routes, socket frames, object names). */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
