import { z } from '@hono/zod-openapi'
import { sql } from 'drizzle-orm'
import type { verificationLevelValues } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { mediaUrl } from '../media/media-url'
import { type Page, type PageRequest, pageWindow } from '../../lib/http/pagination'
import { textArray } from '../feed/feed'
import { FlairSchema } from '../flair/flair'
import { VerificationLevelSchema } from '../profiles/fields'
import { parseSearchContext, rebuildSearchResultsQuery, searchPageQuery, searcherContextQuery } from './query'
import type { Services } from '..'

/**
 * Search: a first page rebuilds the caller's result list (at most 500 rows in `search_results`,
 * src/services/search/query.ts has the SQL), later pages read it, and the quiz search shows its
 * top row re-scored against the caller's current personality.
 */

export const SearchResultSchema = z
  .object({
    position: z.number().int().openapi({ description: 'Place in my result list, from 1' }),
    id: z.uuid(),
    urlSlug: z.string().nullable(),
    name: z.string().nullable(),
    age: z.number().int().nullable().openapi({ description: 'null when hidden by the member or masked' }),
    photo: z
      .object({ url: z.url(), blurhash: z.string() })
      .nullable()
      .openapi({ description: 'The first photo (450 × 450); null without one or when masked' }),
    matchPercentage: z.number().int().min(0).max(99),
    verificationLevel: VerificationLevelSchema,
    messagedMe: z.boolean(),
    iMessaged: z.boolean(),
    flair: FlairSchema,
    verificationRequiredToView: VerificationLevelSchema.nullable().openapi({
      description:
        'Set when my verification is below the level this member asks of viewers (and they have not messaged me): name, URL slug, age and photo are then null.',
    }),
  })
  .openapi('SearchResult')
export type SearchResult = z.infer<typeof SearchResultSchema>

type Level = (typeof verificationLevelValues)[number]
interface PageRow {
  total: number
  last: number
  position: number | null
  id: string | null
  match_percentage: number
  verification_level: Level
  messaged_me: boolean
  i_messaged: boolean
  verification_required_to_view: Level | null
  url_slug: string | null
  name: string | null
  age: number | null
  photo_id: string | null
  photo_blurhash: string | null
  flair: string[] | string
}

function present(row: PageRow, s: Services): SearchResult {
  const masked = row.verification_required_to_view !== null
  return {
    position: Number(row.position),
    id: row.id!,
    urlSlug: masked ? null : row.url_slug,
    name: masked ? null : row.name,
    age: masked || row.age === null ? null : Number(row.age),
    photo:
      masked || !row.photo_id
        ? null
        : {
            url: mediaUrl(s.config, 'images', `450-${row.photo_id}.jpg`),
            blurhash: row.photo_blurhash!,
          },
    matchPercentage: Number(row.match_percentage),
    verificationLevel: row.verification_level,
    messagedMe: row.messaged_me,
    iMessaged: row.i_messaged,
    flair: masked ? [] : textArray(row.flair),
    verificationRequiredToView: row.verification_required_to_view,
  }
}

function pageQuery(s: Services, userId: string, offset: number, limit: number, liveMatch = false) {
  return searchPageQuery(userId, offset, limit, {
    now: s.clock.now(),
    liveMatch,
    earlyAdopterCutoff: s.config.flair.earlyAdopterCutoff,
  })
}

function pageRows(s: Services, rows: unknown[]) {
  const list = rows as PageRow[]
  return {
    total: Number(list[0]?.total ?? 0),
    last: Number(list[0]?.last ?? 0),
    results: list.filter((r) => r.id !== null).map((r) => present(r, s)),
  }
}

/** One page in one round trip (a single statement over Neon's HTTP endpoint). */
async function readPage(s: Services, userId: string, offset: number, limit: number, liveMatch = false) {
  const { rows } = await s.database.db.execute<Record<string, unknown>>(
    pageQuery(s, userId, offset, limit, liveMatch),
  )
  return pageRows(s, rows)
}

function pageOf(
  request: PageRequest,
  { total, last, results }: ReturnType<typeof pageRows>,
): Page<SearchResult> {
  const { limit, offset } = pageWindow(request)
  return {
    data: results,
    total_count: total,
    has_more: last > offset + limit,
    page: request.page,
    items_per_page: request.items_per_page,
  }
}

/**
 * One page of the caller's result list (positions `(page−1)·n + 1 … page·n`). Pages are cut by
 * position, so they never overlap or shift even when rows drop out (a skip removes them; a
 * prospect who left since is filtered out): such a page is just shorter. An empty or never built
 * list gives an empty page.
 *
 * @example
 * const page2 = await searchPage(s, caller.userId, { page: 2, items_per_page: 10 })
 */
export async function searchPage(
  s: Services,
  userId: string,
  request: PageRequest,
): Promise<Page<SearchResult>> {
  const { limit, offset } = pageWindow(request)
  return pageOf(request, await readPage(s, userId, offset, limit))
}

/**
 * Rebuild the caller's result list with their current filters (the uncached search) and return
 * its first page, in two sequential round trips to Neon: the searcher's context (the rebuild
 * statement is built from it), then one HTTP transaction holding the advisory lock, the rebuild
 * and the first page.
 *
 * @example
 * const first = await rebuildSearch(s, caller.userId, 10)
 */
export async function rebuildSearch(
  s: Services,
  userId: string,
  itemsPerPage: number,
): Promise<Page<SearchResult>> {
  const { db } = s.database
  const { rows } = await db.execute(searcherContextQuery(userId, s.clock.now()))
  const ctx = parseSearchContext(rows[0])
  if (!ctx) throw new ApiError('onboarding_required', 'Finish onboarding first')
  const request = { page: 1, items_per_page: itemsPerPage }
  const { limit, offset } = pageWindow(request)
  // Neon runs a batch as one transaction, statement after statement. Two rebuilds of one list (a
  // double tap, two devices) take turns on the lock, and each later statement takes its snapshot
  // after it: the rebuild sees and deletes a list another rebuild just committed instead of
  // leaving that list's tail behind its own, and the page reads the list this rebuild wrote.
  const [, , page] = await db.batch([
    db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`search-results:${userId}`}, 0))`),
    db.execute(rebuildSearchResultsQuery(ctx)),
    db.execute<Record<string, unknown>>(pageQuery(s, userId, offset, limit)),
  ])
  return pageOf(request, pageRows(s, page.rows))
}

/**
 * The quiz search: the top row of my result list with its match % computed from my personality
 * as it is now, so the Q&A screen shows the match moving as I answer; null when my list is empty.
 *
 * @example
 * const { result } = await quizSearch(s, caller.userId)
 */
export async function quizSearch(s: Services, userId: string): Promise<{ result: SearchResult | null }> {
  // Rows can drop out of the list (skips, departures): take the first still standing.
  const { results } = await readPage(s, userId, 0, 10, true)
  return { result: results[0] ?? null }
}
