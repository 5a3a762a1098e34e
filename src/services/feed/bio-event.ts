/**
 * The text an about-text edit added, for the feed's `updated-bio` event: what lies between the
 * longest common prefix and the longest common suffix of the old and new text, trimmed; null when
 * the edit only removed text (or changed nothing but whitespace).
 *
 * @example
 * addedText('I like tea.', 'I like tea and long walks.') // 'and long walks'
 */
export function addedText(before: string | null, after: string | null): string | null {
  const a = before ?? ''
  const b = after ?? ''
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let end = 0
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end])
    end++
  const added = b
    .slice(start, b.length - end)
    .trim()
    .replace(/^[\s.,;:!?-]+|[\s.,;:!?-]+$/g, '')
  return added.length > 0 ? added : null
}
