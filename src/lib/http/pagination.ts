import { z } from '@hono/zod-openapi'

/**
 * Page-number pagination with the boilerplate's query names and response envelope
 * (`page`, `items_per_page` → `{data, total_count, has_more, page, items_per_page}`), minus its
 * bugs: both parameters are bounded (the boilerplate answered `page=0` with a 500 and had no
 * maximum page size), and callers must give a total order (`ORDER BY … , id`), since rows with
 * equal sort keys otherwise move between pages.
 */

/** Largest page a client may ask for (OWASP API4: bound what one request can make us read). */
export const maxItemsPerPage = 100
export const defaultItemsPerPage = 10
/**
 * Deep pages cost an OFFSET scan of everything before them. 10,000 pages of the largest size is a
 * million rows — more than any admin screen pages through — and keeps every offset small.
 */
export const maxPage = 10_000

/**
 * Query schema for paginated lists. Extend it with the list's filters.
 *
 * @example
 * request: { query: paginationQuery.extend({ kind: z.enum(['email', 'ip']).optional() }) }
 */
export const paginationQuery = z.object({
  page: z.coerce
    .number()
    .int()
    .min(1)
    .max(maxPage)
    .default(1)
    .openapi({ param: { description: `Page number, 1–${maxPage}` }, example: 1 }),
  items_per_page: z.coerce
    .number()
    .int()
    .min(1)
    .max(maxItemsPerPage)
    .default(defaultItemsPerPage)
    .openapi({ param: { description: `Rows per page, 1–${maxItemsPerPage}` }, example: 10 }),
})

export type PageRequest = { page: number; items_per_page: number }

// A type alias, not an interface, so a page of JSON values is itself a JSON value (cacheable).
export type Page<T> = {
  data: T[]
  total_count: number
  has_more: boolean
  page: number
  items_per_page: number
}

/**
 * The LIMIT and OFFSET for a page request.
 *
 * @example
 * const { limit, offset } = pageWindow({ page: 3, items_per_page: 20 }) // { limit: 20, offset: 40 }
 */
export function pageWindow(request: PageRequest): { limit: number; offset: number } {
  return { limit: request.items_per_page, offset: (request.page - 1) * request.items_per_page }
}

/**
 * Wrap one page of rows in the response envelope.
 *
 * @example
 * return c.json(paginate(rows.map(present), total, query), 200)
 */
export function paginate<T>(data: T[], totalCount: number, request: PageRequest): Page<T> {
  return {
    data,
    total_count: totalCount,
    has_more: request.page * request.items_per_page < totalCount,
    page: request.page,
    items_per_page: request.items_per_page,
  }
}

/**
 * OpenAPI schema of the envelope around `item`, registered under `name`.
 *
 * @example
 * responses: { 200: { content: { 'application/json': { schema: pageSchema(BanSchema, 'BanPage') } } } }
 */
export function pageSchema<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      data: z.array(item),
      total_count: z.number().int().openapi({ example: 42 }),
      has_more: z.boolean(),
      page: z.number().int().openapi({ example: 1 }),
      items_per_page: z.number().int().openapi({ example: 10 }),
    })
    .openapi(name)
}
