/**
 * The normal form of place names for search, shared by the Worker (queries, src/services/profiles/places.ts)
 * and the Node loader (`places.search_key`, scripts/places-data.ts), so both sides agree. No
 * imports: the loader must not pull Worker code into Node.
 */

/** Letters whose Unicode decomposition has no base letter to fall back on. */
const foldedLetters: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
  ħ: 'h',
  ŧ: 't',
}

/**
 * The form place names are searched in, used for `places.search_key` when loading and for queries
 * when searching, so both sides agree: lower-case, accents removed ("Zürich" → "zurich"), and every
 * run of characters that are neither letters nor digits turned into one space ("'s-Hertogenbosch"
 * → "s hertogenbosch"). Non-Latin letters are kept as they are. The result can therefore never
 * contain a LIKE wildcard.
 *
 * @example
 * placeSearchKey('  São Paulo, Brazil ') // 'sao paulo brazil'
 */
export function placeSearchKey(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[ßæœøłđðþıħŧ]/g, (letter) => foldedLetters[letter] ?? letter)
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
}
