import { inArray } from 'drizzle-orm'
import { disposableEmailDomains } from '../../db/schema'
import { disposableDomainCandidates } from './email'
import type { Services } from '..'

/**
 * Whether the address belongs to a throwaway-mail service, including any subdomain of one. One
 * indexed query against the list `npm run db:migrate` keeps in step with the pinned
 * community-maintained disposable-email-domains list (CC0, via `disposable-email-domains-js`).
 *
 * @example
 * await isDisposableEmail(s, 'someone@10minutemail.com') // true
 */
export async function isDisposableEmail(s: Services, normalized: string): Promise<boolean> {
  const candidates = disposableDomainCandidates(normalized)
  if (candidates.length === 0) return false
  const hits = await s.database.db
    .select({ domain: disposableEmailDomains.domain })
    .from(disposableEmailDomains)
    .where(inArray(disposableEmailDomains.domain, candidates))
    .limit(1)
  return hits.length > 0
}
