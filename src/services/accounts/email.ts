import { z } from 'zod'

/**
 * Email addresses as account identities.
 *
 * An account is keyed by its *normalised* address so that one person cannot hold two accounts by
 * spelling the same mailbox two ways (`Jane.Doe+x@GoogleMail.com` and `janedoe@gmail.com` reach
 * the same inbox). Normalisation only folds spellings the provider itself documents as the same
 * mailbox; anything we are not sure about is left alone, because wrongly merging two real people
 * into one identity is worse than letting one person hold two accounts.
 *
 * What is folded, and why:
 * - Everywhere: surrounding whitespace is trimmed and the whole address lower-cased. RFC 5321
 *   lets a server treat the local part case-sensitively, but no mail provider in practice does.
 * - Gmail: Google delivers `j.a.n.e@gmail.com` to `jane@gmail.com` and treats `googlemail.com`
 *   as the same domain, so dots are removed and the domain is rewritten to `gmail.com`. Google
 *   Workspace domains cannot be recognised from the address, so they keep their dots.
 * - Sub-addressing (`jane+shop@…` → `jane@…`) is removed only for providers that document `+` as
 *   a tag separator on their consumer domains (see {@link plusAddressingDomains}). On any other
 *   domain `+` may be a literal part of a distinct mailbox, so it stays.
 *
 * Deliberately not folded:
 * - Yahoo's "disposable addresses" use `-`, but with a separately chosen base name rather than the
 *   account name, so stripping at `-` would not reveal the account and would merge strangers.
 * - Sibling domains of one provider (`hotmail.com`/`outlook.com`, `me.com`/`icloud.com`,
 *   `proton.me`/`protonmail.com`) are distinct mailboxes for many accounts, so they are not merged.
 * - GMX, web.de, AOL, mail.ru and Tutanota do not document `+` sub-addressing.
 */

/** RFC 5321 caps a forward path at 256 octets including the angle brackets, so 254 for the address. */
const maxAddressLength = 254

/** Syntax check shared by input and output: zod's email rule, which rejects quoted local parts and IP literals. */
const addressSyntax = z.email().max(maxAddressLength)

const gmailDomains = new Set(['gmail.com', 'googlemail.com'])

/**
 * Consumer domains whose provider documents `+tag` sub-addressing: mail to `user+tag@domain` lands
 * in `user@domain`'s inbox. Sources: Google (Gmail help), Microsoft (Outlook.com / Exchange Online
 * plus addressing), Apple (iCloud Mail address tags), Fastmail, Proton, Yandex and Zoho help pages.
 */
export const plusAddressingDomains: ReadonlySet<string> = new Set([
  'gmail.com',
  'googlemail.com',
  'outlook.com',
  'hotmail.com',
  'live.com',
  'msn.com',
  'icloud.com',
  'me.com',
  'mac.com',
  'fastmail.com',
  'fastmail.fm',
  'protonmail.com',
  'protonmail.ch',
  'proton.me',
  'pm.me',
  'yandex.ru',
  'yandex.com',
  'ya.ru',
  'zoho.com',
  'zohomail.com',
])

/** Thrown by {@link normalizeEmail} for input that is not a deliverable-looking address. */
export class InvalidEmailError extends Error {
  constructor(readonly input: string) {
    super('Not a valid email address')
    this.name = 'InvalidEmailError'
  }
}

/**
 * The canonical form of an address, used as the account key and for uniqueness checks.
 * Throws {@link InvalidEmailError} when the input (or what is left after folding, such as an
 * empty local part from `+tag@gmail.com`) is not a valid address.
 *
 * @example
 * normalizeEmail('  Jane.Doe+dating@GoogleMail.com ') // 'janedoe@gmail.com'
 * normalizeEmail('jane+work@outlook.com')              // 'jane@outlook.com'
 * normalizeEmail('jane+work@example.org')              // 'jane+work@example.org' (unknown provider: kept)
 */
export function normalizeEmail(raw: string): string {
  const address = raw.trim().toLowerCase()
  if (!addressSyntax.safeParse(address).success) throw new InvalidEmailError(raw)

  const at = address.lastIndexOf('@')
  let local = address.slice(0, at)
  let domain = address.slice(at + 1)

  if (plusAddressingDomains.has(domain)) {
    const plus = local.indexOf('+')
    if (plus !== -1) local = local.slice(0, plus)
  }
  if (gmailDomains.has(domain)) {
    local = local.replaceAll('.', '')
    domain = 'gmail.com'
  }

  const normalized = `${local}@${domain}`
  if (!addressSyntax.safeParse(normalized).success) throw new InvalidEmailError(raw)
  return normalized
}

/**
 * A zod schema that validates an email field and yields its normalised form, so route bodies
 * get a 422 with the field path for bad input and handlers only ever see canonical addresses.
 *
 * @example
 * const body = z.object({ email: normalizedEmailSchema })
 * body.parse({ email: 'J.Doe@gmail.com' }) // { email: 'jdoe@gmail.com' }
 */
export const normalizedEmailSchema = z.string().transform((value, ctx) => {
  try {
    return normalizeEmail(value)
  } catch {
    ctx.addIssue({ code: 'custom', message: 'Invalid email address' })
    return z.NEVER
  }
})

/**
 * The domain of an address, lower-cased (the part after the last `@`; `''` when there is none).
 *
 * @example
 * emailDomain('Jane@Mailinator.COM') // 'mailinator.com'
 */
export function emailDomain(email: string): string {
  const at = email.lastIndexOf('@')
  if (at === -1) return ''
  return email
    .slice(at + 1)
    .trim()
    .toLowerCase()
}

/**
 * The domains to look up to decide whether an address is disposable: its domain and every parent
 * domain down to (not including) the bare TLD, so `x@a.b.mailinator.com` is caught by the
 * `mailinator.com` entry. Whole labels only: `acmemailinator.com` does not match.
 *
 * @example
 * disposableDomainCandidates('x@a.b.mailinator.com') // ['a.b.mailinator.com', 'b.mailinator.com', 'mailinator.com']
 */
export function disposableDomainCandidates(normalized: string): string[] {
  let domain = emailDomain(normalized)
  const candidates: string[] = []
  while (domain) {
    candidates.push(domain)
    const dot = domain.indexOf('.')
    if (dot === -1 || domain.indexOf('.', dot + 1) === -1) break
    domain = domain.slice(dot + 1)
  }
  return candidates
}
