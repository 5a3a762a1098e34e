import { pgTable, text } from 'drizzle-orm/pg-core'

/**
 * Throwaway-mail domains refused for new accounts. Reference data, not user data: filled and
 * kept in step with the pinned `disposable-email-domains-js` package by `npm run db:migrate`
 * (scripts/reference-data.ts). It lives here rather than in the Worker bundle because the list
 * alone would add ~52 KiB gzipped to every cold start, while sign-in already queries Postgres.
 */
export const disposableEmailDomains = pgTable('disposable_email_domains', {
  domain: text('domain').primaryKey(),
})
