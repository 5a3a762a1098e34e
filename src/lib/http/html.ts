/**
 * Text into HTML, for the few HTML bodies Rapport writes (emails, the moderation confirm page):
 * every character that could open markup or an attribute is an entity.
 *
 * @example
 * escapeHtml(`<b>"Tom" & Jerry's</b>`) // '&#60;b&#62;&#34;Tom&#34; &#38; Jerry&#39;s&#60;/b&#62;'
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * The minimal HTML twin of a plain-text email: one paragraph per non-empty line, no images or
 * tracking; occurrences of each of `links` become a link to it.
 *
 * @example
 * emailHtml(['Hi,', '', 'Read it: https://app.example'], 'https://app.example')
 */
export function emailHtml(lines: string[], links?: string | (string | undefined)[]): string {
  const targets = (Array.isArray(links) ? links : [links]).filter((l): l is string => Boolean(l))
  const paragraphs = lines
    .filter((l) => l !== '')
    .map((l) => {
      let text = escapeHtml(l)
      for (const link of targets) {
        text = text.replaceAll(escapeHtml(link), `<a href="${escapeHtml(link)}">${escapeHtml(link)}</a>`)
      }
      return `    <p>${text}</p>`
    })
  return `<!doctype html>
<html lang="en">
  <body style="margin:0;padding:24px;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328;line-height:1.5">
${paragraphs.join('\n')}
  </body>
</html>
`
}
