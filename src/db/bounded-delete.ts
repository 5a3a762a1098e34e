import { type SQL, inArray } from 'drizzle-orm'
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core'
import type { HttpDb } from './client'

/**
 * Delete at most `limit` rows of `table` matching `where`, in one statement, and return how many
 * went. Clean-up jobs use it so that a run stays bounded however large the backlog: whatever is
 * left is picked up by the next run.
 *
 * @example
 * const n = await deleteBounded(db, bans, bans.id, lt(bans.liftedAt, cutoff), 5000)
 */
export async function deleteBounded(
  db: HttpDb,
  table: PgTable,
  key: AnyPgColumn,
  where: SQL | undefined,
  limit: number,
): Promise<number> {
  const victims = db.select({ key }).from(table).where(where).limit(limit)
  const deleted = await db.delete(table).where(inArray(key, victims)).returning({ key })
  return deleted.length
}
