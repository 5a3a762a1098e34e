import { z } from '@hono/zod-openapi'
import { and, asc, count, eq, ne, sql } from 'drizzle-orm'
import { isUniqueViolation } from '../../db/errors'
import { rateLimitRules, tiers, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { type PageRequest, pageWindow } from '../../lib/http/pagination'
import { sharedWithinRequest } from '../platform/request-memo'
import type { Services } from '..'

/**
 * Tiers and what they unlock. Every feature has a default that applies to every tier; a tier's
 * `features` column (jsonb) holds only its overrides. Later issues ask `tierFeatures()` (or the
 * `requireFeature` middleware) rather than comparing tier names, so "what gold gets" is data an
 * admin edits, not code scattered over handlers.
 */

/**
 * The feature table: each feature's type, bounds and default. Adding a feature is one line here;
 * the override schema, the OpenAPI document and `requireFeature`'s type follow from it.
 */
export const featureSchemas = {
  /** How many clubs a member may join. */
  clubQuota: z.number().int().min(0).max(10_000).default(50),
  /** Whether the member sees when their messages were read (and sends receipts). */
  readReceipts: z.boolean().default(false),
  /** Whether the member can view profiles without appearing in "who viewed me". */
  invisibleBrowsing: z.boolean().default(false),
  /** Whether the member can fill in the extra profile fields reserved for paying tiers. */
  goldProfileFields: z.boolean().default(false),
  /** Whether the member wears the paid-tier flair (`gold`) and counts as "seems human" in the feed. */
  paidFlair: z.boolean().default(false),
}

const FeaturesSchema = z.object(featureSchemas)

/** Every feature's value for one tier, defaults filled in. */
export type Features = z.infer<typeof FeaturesSchema>
export type FeatureName = keyof Features
/** The features that are on/off switches, which `requireFeature` can gate a route on. */
export type BooleanFeature = { [K in FeatureName]: Features[K] extends boolean ? K : never }[FeatureName]

/** The defaults every tier starts from. */
export const defaultFeatures: Features = FeaturesSchema.parse({})

type InnerSchemas = { [K in FeatureName]: ReturnType<(typeof featureSchemas)[K]['unwrap']> }

const overrideShape = Object.fromEntries(
  Object.entries(featureSchemas).map(([name, schema]) => [name, schema.unwrap().optional()]),
) as { [K in FeatureName]: z.ZodOptional<InnerSchemas[K]> }

/** Stored overrides: any subset of the features, nothing else. */
export const FeatureOverridesSchema = z.object(overrideShape).strict().openapi('TierFeatureOverrides')
export type FeatureOverrides = z.infer<typeof FeatureOverridesSchema>

/**
 * A change to a tier's overrides, as JSON Merge Patch (RFC 7396): a value sets the override,
 * `null` removes it (the tier falls back to the default), an absent key leaves it alone.
 */
export const FeaturePatchSchema = z
  .object(
    Object.fromEntries(
      Object.entries(featureSchemas).map(([name, schema]) => [name, schema.unwrap().nullable().optional()]),
    ) as { [K in FeatureName]: z.ZodOptional<z.ZodNullable<InnerSchemas[K]>> },
  )
  .strict()
  .openapi('TierFeaturePatch')
export type FeaturePatch = z.infer<typeof FeaturePatchSchema>

/**
 * The stored overrides that are still valid. jsonb can hold anything (a hand-written UPDATE, a
 * feature removed from the table), and one bad key must not take a tier's other features down
 * with it, so each key is checked on its own and invalid ones are dropped.
 *
 * @example
 * readOverrides({ clubQuota: 100, readReceipts: 'yes' }) // { clubQuota: 100 }
 */
export function readOverrides(stored: unknown): FeatureOverrides {
  const out: Record<string, unknown> = {}
  if (!stored || typeof stored !== 'object' || Array.isArray(stored)) return out
  for (const [name, schema] of Object.entries(featureSchemas)) {
    const value = (stored as Record<string, unknown>)[name]
    if (value === undefined) continue
    const parsed = schema.unwrap().safeParse(value)
    if (parsed.success) out[name] = parsed.data
  }
  return out as FeatureOverrides
}

/**
 * Defaults with a tier's overrides applied.
 *
 * @example
 * resolveFeatures({ clubQuota: 100 }).clubQuota // 100
 * resolveFeatures({}).readReceipts // false
 */
export function resolveFeatures(stored: unknown): Features {
  return { ...defaultFeatures, ...readOverrides(stored) }
}

export type Tier = typeof tiers.$inferSelect

// ---------------------------------------------------------------------------------------------
// The isolate's copy of the tier table

/**
 * Feature checks run on hot routes, and the tier table is a handful of rows that change rarely,
 * so each isolate keeps all of them for up to a minute instead of querying per request. Writes
 * through this module clear the copy at once; other isolates see a change within the TTL.
 */
export const tierCacheTtlMs = 60_000
const reloadGraceMs = 5_000
// Only settled rows are shared across requests, never a query in flight (a request must not await
// I/O another request started). While one request reloads an expired copy the others keep using
// it; a reload not finished within reloadGraceMs is tried again by the next request.
let cached: { rows: Map<string, Tier>; loadedAt: number; reloadingSince?: number } | null = null
// Bumped by every forget, so a read that started before a write cannot store pre-write rows.
let generation = 0

/**
 * Forget this isolate's copy of the tier table (after a write, and in tests).
 *
 * @example
 * await s.database.db.update(tiers).set({ features: {} }); forgetTiers()
 */
export function forgetTiers(): void {
  cached = null
  generation++
}

/**
 * Every tier by id, from this isolate's copy when it is younger than {@link tierCacheTtlMs}.
 *
 * @example
 * const gold = [...(await cachedTiers(s)).values()].find((t) => t.name === 'gold')
 */
export async function cachedTiers(s: Services): Promise<Map<string, Tier>> {
  const now = s.clock.now().getTime()
  const copy = cached
  if (copy && now - copy.loadedAt < tierCacheTtlMs && now >= copy.loadedAt) return copy.rows
  if (copy?.reloadingSince !== undefined && now - copy.reloadingSince < reloadGraceMs) return copy.rows
  if (copy) copy.reloadingSince = now
  // Overlapping calls within one request share one query.
  return sharedWithinRequest(s, 'tiers', async () => {
    const started = generation
    const rows = await s.database.db.select().from(tiers)
    const byId = new Map(rows.map((t) => [t.id, t]))
    if (started === generation) cached = { rows: byId, loadedAt: now }
    return byId
  })
}

/**
 * The features a tier grants. Users without a tier (operators created by bootstrap) and ids of
 * tiers that no longer exist get the defaults.
 *
 * @example
 * const { clubQuota } = await tierFeatures(s, c.get('account')!.tierId)
 */
export async function tierFeatures(s: Services, tierId: string | null | undefined): Promise<Features> {
  if (!tierId) return { ...defaultFeatures }
  let tier = (await cachedTiers(s)).get(tierId)
  if (!tier) {
    // A tier created in another isolate after this copy was loaded: the member holds its id, so
    // it exists (or existed); look again rather than hand out the defaults for up to a minute.
    forgetTiers()
    tier = (await cachedTiers(s)).get(tierId)
  }
  return resolveFeatures(tier?.features)
}

// ---------------------------------------------------------------------------------------------
// CRUD

/**
 * One page of tiers, oldest (the default) first.
 *
 * @example
 * const { rows, total } = await listTiers(s, { page: 1, items_per_page: 10 })
 */
export async function listTiers(s: Services, page: PageRequest): Promise<{ rows: Tier[]; total: number }> {
  const { limit, offset } = pageWindow(page)
  const [rows, [counted]] = await s.database.db.batch([
    s.database.db
      .select()
      .from(tiers)
      .orderBy(asc(tiers.createdAt), asc(tiers.id))
      .limit(limit)
      .offset(offset),
    s.database.db.select({ total: count() }).from(tiers),
  ])
  return { rows, total: counted?.total ?? 0 }
}

/**
 * A tier by name, or a 404.
 *
 * @example
 * const gold = await getTier(s, 'gold')
 */
export async function getTier(s: Services, name: string): Promise<Tier> {
  const [tier] = await s.database.db.select().from(tiers).where(eq(tiers.name, name))
  if (!tier) throw new ApiError('not_found', `No tier named "${name}"`)
  return tier
}

const nameTaken = (name: string) => new ApiError('conflict', `A tier named "${name}" already exists`)

/**
 * Create a tier, optionally with feature overrides. A taken name is a 409.
 *
 * @example
 * await createTier(s, { name: 'gold', features: { clubQuota: 100, readReceipts: true } })
 */
export async function createTier(
  s: Services,
  input: { name: string; features?: FeatureOverrides },
): Promise<Tier> {
  const now = s.clock.now()
  const [tier] = await s.database.db
    .insert(tiers)
    .values({ name: input.name, features: input.features ?? {}, createdAt: now, updatedAt: now })
    .onConflictDoNothing({ target: tiers.name })
    .returning()
  if (!tier) throw nameTaken(input.name)
  forgetTiers()
  return tier
}

/**
 * Rename a tier and/or merge-patch its feature overrides (see {@link FeaturePatchSchema}).
 * Renaming onto another tier's name is a 409. Members' cached account summaries keep the old
 * name for at most their 60 s TTL; feature checks go by tier id and are unaffected.
 *
 * @example
 * await updateTier(s, 'gold', { features: { clubQuota: 120, invisibleBrowsing: null } })
 */
export async function updateTier(
  s: Services,
  name: string,
  patch: { name?: string; features?: FeaturePatch },
): Promise<Tier> {
  const current = await getTier(s, name)
  const overrides: Record<string, unknown> = { ...readOverrides(current.features) }
  for (const [key, value] of Object.entries(patch.features ?? {})) {
    if (value === null) delete overrides[key]
    else if (value !== undefined) overrides[key] = value
  }
  if (patch.name !== undefined && patch.name !== name) {
    const [taken] = await s.database.db
      .select({ id: tiers.id })
      .from(tiers)
      .where(and(eq(tiers.name, patch.name), ne(tiers.id, current.id)))
    if (taken) throw nameTaken(patch.name)
  }
  let updated: Tier | undefined
  try {
    ;[updated] = await s.database.db
      .update(tiers)
      .set({ name: patch.name ?? current.name, features: overrides, updatedAt: s.clock.now() })
      .where(eq(tiers.id, current.id))
      .returning()
  } catch (err) {
    // Another request took the name between the check and the update.
    if (isUniqueViolation(err)) throw nameTaken(patch.name ?? name)
    throw err
  }
  if (!updated) throw new ApiError('not_found', `No tier named "${name}"`)
  forgetTiers()
  return updated
}

/**
 * Delete a tier that nothing uses. A tier still held by users (soft-deleted ones included: they
 * can be restored) or carrying rate-limit rules is a 409 naming what holds it, rather than
 * silently moving members to another tier or dropping the rules: both are decisions an admin
 * should take on purpose (move members with `PATCH /api/v1/user/{id}/tier`, delete the rules).
 * The check and the delete are one statement, so a rule added in between cannot slip through;
 * a member created concurrently with the tier is left tier-less by the foreign key (`SET NULL`)
 * and gets the default features, never a 500.
 *
 * @example
 * await deleteTier(s, 'trial')
 */
export async function deleteTier(s: Services, name: string): Promise<void> {
  const deleted = await s.database.db
    .delete(tiers)
    .where(
      and(
        eq(tiers.name, name),
        sql`not exists (select 1 from ${users} where ${users.tierId} = ${tiers.id})`,
        sql`not exists (select 1 from ${rateLimitRules} where ${rateLimitRules.tierId} = ${tiers.id})`,
      ),
    )
    .returning({ id: tiers.id })
  if (deleted.length > 0) {
    forgetTiers()
    return
  }
  const tier = await getTier(s, name)
  const [[members], [rules]] = await s.database.db.batch([
    s.database.db.select({ n: count() }).from(users).where(eq(users.tierId, tier.id)),
    s.database.db.select({ n: count() }).from(rateLimitRules).where(eq(rateLimitRules.tierId, tier.id)),
  ])
  const holders = [
    members?.n ? `${members.n} user${members.n === 1 ? '' : 's'}` : null,
    rules?.n ? `${rules.n} rate-limit rule${rules.n === 1 ? '' : 's'}` : null,
  ].filter(Boolean)
  throw new ApiError(
    'conflict',
    `Tier "${name}" is still used by ${holders.join(' and ') || 'other records'}; ` +
      'move its users to another tier and delete its rate-limit rules first',
  )
}
