import { and, eq, inArray, isNull, lt, sql } from 'drizzle-orm'
import { photos, places, profiles, searchPreferences, users, voiceBios } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { defaultAgeRange, distanceKm } from '../search/geo'
import { forgetAccount } from './account-cache'
import { findPlaceByLabel } from '../profiles/places'
import { assertAcceptableText, assertAdult, fieldError } from '../profiles/fields'
import { assignUrlSlug } from '../profiles/slugs'
import type { Services } from '..'

/**
 * Onboarding: a new member fills in name, date of birth, location, gender and the genders they
 * want to meet (and optionally photos, through the photo routes), then finishes, which makes the
 * account active and gives it search preferences. The draft lives in `profiles` with
 * `onboarded_at` null; drafts nobody finishes are purged after a week.
 */

export const requiredOnboardingFields = [
  'name',
  'dateOfBirth',
  'location',
  'gender',
  'seekingGenders',
] as const
export type OnboardingField = (typeof requiredOnboardingFields)[number]

type Gender = NonNullable<(typeof profiles.$inferSelect)['gender']>

export interface OnboardingPatch {
  name?: string
  dateOfBirth?: string
  location?: string
  gender?: Gender
  seekingGenders?: Gender[]
}

export interface OnboardingState {
  name: string | null
  urlSlug: string | null
  dateOfBirth: string | null
  location: string | null
  gender: Gender | null
  seekingGenders: Gender[] | null
  missing: OnboardingField[]
}

/** How long an unfinished onboarding is kept (a week). */
export const onboardingDraftTtlMs = 7 * 86_400_000

async function ensureDraft(s: Services, userId: string): Promise<void> {
  await s.database.db.insert(profiles).values({ userId }).onConflictDoNothing()
}

/**
 * The caller's onboarding so far and which required fields are still missing.
 *
 * @example
 * const { missing } = await onboardingState(s, caller.userId) // ['dateOfBirth', 'location', …]
 */
export async function onboardingState(s: Services, userId: string): Promise<OnboardingState> {
  const [row] = await s.database.db
    .select({
      name: users.name,
      urlSlug: profiles.urlSlug,
      dateOfBirth: profiles.dateOfBirth,
      location: places.label,
      gender: profiles.gender,
      seekingGenders: profiles.seekingGenders,
    })
    .from(users)
    .leftJoin(profiles, eq(profiles.userId, users.id))
    .leftJoin(places, eq(places.id, profiles.placeId))
    .where(eq(users.id, userId))
  if (!row) throw new ApiError('not_found', 'No such account')
  const state = {
    name: row.name,
    urlSlug: row.urlSlug,
    dateOfBirth: row.dateOfBirth,
    location: row.location,
    gender: row.gender,
    seekingGenders: row.seekingGenders,
  }
  const missing = requiredOnboardingFields.filter((field) => {
    const value = state[field]
    return value === null || (Array.isArray(value) && value.length === 0)
  })
  return { ...state, missing }
}

/**
 * Set one or more onboarding fields. Every field is checked before anything is written, so a
 * rejected request changes nothing. A name also reserves the member's URL slug.
 *
 * @example
 * await updateOnboarding(s, caller.userId, { dateOfBirth: '1995-06-15' })
 */
export async function updateOnboarding(
  s: Services,
  userId: string,
  patch: OnboardingPatch,
): Promise<OnboardingState> {
  if (patch.name !== undefined) assertAcceptableText('name', patch.name, 'json.name')
  if (patch.dateOfBirth !== undefined) assertAdult(patch.dateOfBirth, s.clock.now(), 'json.dateOfBirth')
  let place: Awaited<ReturnType<typeof findPlaceByLabel>>
  if (patch.location !== undefined) {
    place = await findPlaceByLabel(s, patch.location)
    if (!place) throw fieldError('json.location', 'Pick a place from the place search')
  }

  await ensureDraft(s, userId)
  const now = s.clock.now()
  const changes: Partial<typeof profiles.$inferInsert> = {}
  if (patch.dateOfBirth !== undefined) changes.dateOfBirth = patch.dateOfBirth
  if (place) {
    Object.assign(changes, { placeId: place.id, latitude: place.latitude, longitude: place.longitude })
    if (place.verificationRequired) changes.verificationRequired = true
  }
  if (patch.gender !== undefined) changes.gender = patch.gender
  if (patch.seekingGenders !== undefined) changes.seekingGenders = [...new Set(patch.seekingGenders)]
  if (Object.keys(changes).length > 0) {
    await s.database.db
      .update(profiles)
      .set({ ...changes, updatedAt: now })
      .where(and(eq(profiles.userId, userId), isNull(profiles.onboardedAt)))
  }
  if (patch.name !== undefined) {
    // Guarded like the draft's fields: a request racing `finish` must not rename a live
    // profile (after onboarding, renaming is a tier feature).
    const [renamed] = await s.database.db
      .update(users)
      .set({ name: patch.name, updatedAt: now })
      .where(and(eq(users.id, userId), eq(users.status, 'onboarding')))
      .returning({ id: users.id })
    if (!renamed) throw new ApiError('already_onboarded', 'This account has finished onboarding')
    await assignUrlSlug(s, userId, patch.name)
    await forgetAccount(s, userId)
  }
  return onboardingState(s, userId)
}

/** Countries measuring people in feet and miles. */
const imperialCountries = new Set(['US', 'GB', 'LR', 'MM'])

/** How many mutual matches a default search radius aims to reach, and the floor below which it stays unlimited. */
export const distanceTarget = { matches: 2000, minimumReachable: 500, capKm: 9000, iterations: 5 }

/**
 * The default search radius: a binary search (0–10 000 km, 5 steps) for the radius
 * reaching about 2 000 people who are mutual matches (each wants the other's gender, ages fit
 * both ways, each within the other's distance); unlimited (null) when fewer than 500 are
 * reachable at all, and capped at 9 000 km.
 */
export async function defaultDistanceKm(
  s: Services,
  me: {
    userId: string
    latitude: number
    longitude: number
    gender: Gender
    age: number
    seekingGenders: Gender[]
    minAge: number
    maxAge: number
  },
): Promise<number | null> {
  const distance = distanceKm(profiles.latitude, profiles.longitude, me.latitude, me.longitude)
  const theirAge = sql`date_part('year', age(${s.clock.now().toISOString()}::timestamptz, ${profiles.dateOfBirth}::timestamptz))`
  const countWithin = async (radiusKm: number | null) => {
    const [row] = await s.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(profiles)
      .innerJoin(users, eq(users.id, profiles.userId))
      .innerJoin(searchPreferences, eq(searchPreferences.userId, profiles.userId))
      .where(
        and(
          eq(users.status, 'active'),
          isNull(users.deletedAt),
          sql`${profiles.userId} <> ${me.userId}`,
          inArray(profiles.gender, me.seekingGenders),
          sql`${me.gender}::gender = any(${searchPreferences.genders})`,
          sql`${theirAge} between ${me.minAge} and ${me.maxAge}`,
          sql`${me.age} between ${searchPreferences.minAge} and ${searchPreferences.maxAge}`,
          sql`(${searchPreferences.maxDistanceKm} is null or ${searchPreferences.maxDistanceKm} >= ${distance})`,
          radiusKm === null ? undefined : sql`${distance} <= ${radiusKm}`,
        ),
      )
    return row?.n ?? 0
  }

  if ((await countWithin(null)) < distanceTarget.minimumReachable) return null
  let low = 0
  let high = 10_000
  for (let i = 0; i < distanceTarget.iterations; i++) {
    const mid = (low + high) / 2
    if ((await countWithin(mid)) < distanceTarget.matches) low = mid
    else high = mid
  }
  return Math.max(1, Math.min(distanceTarget.capKm, Math.round(high)))
}

/**
 * Finish onboarding: every required field must be set (422 listing the missing ones). Makes the
 * account active, stamps the profile and creates the member's search preferences, in one
 * transaction. A second call answers 409 `already_onboarded`.
 *
 * @example
 * const { urlSlug } = await finishOnboarding(s, caller.userId)
 */
export async function finishOnboarding(
  s: Services,
  userId: string,
): Promise<{ userId: string; urlSlug: string }> {
  const state = await onboardingState(s, userId)
  if (state.missing.length > 0) {
    throw new ApiError('validation_failed', `Still missing: ${state.missing.join(', ')}`, {
      errors: state.missing.map((field) => ({
        path: field,
        message: 'Required before finishing onboarding',
      })),
    })
  }
  const [draft] = await s.database.db
    .select({ latitude: profiles.latitude, longitude: profiles.longitude, countryCode: places.countryCode })
    .from(profiles)
    .innerJoin(places, eq(places.id, profiles.placeId))
    .where(eq(profiles.userId, userId))
  if (!draft || draft.latitude === null || draft.longitude === null) {
    throw new ApiError('validation_failed', 'Still missing: location', {
      errors: [{ path: 'location', message: 'Required before finishing onboarding' }],
    })
  }

  const now = s.clock.now()
  // The age is checked again: the rule is "18 on the day the profile goes live".
  const age = assertAdult(state.dateOfBirth!, now, 'dateOfBirth')
  const ages = defaultAgeRange(age)
  const genders = state.seekingGenders!
  const maxDistanceKm = await defaultDistanceKm(s, {
    userId,
    latitude: draft.latitude,
    longitude: draft.longitude,
    gender: state.gender!,
    age,
    seekingGenders: genders,
    ...ages,
  })

  const finished = await s.database.transaction(async (tx) => {
    const [activated] = await tx
      .update(users)
      .set({ status: 'active', updatedAt: now })
      .where(and(eq(users.id, userId), eq(users.status, 'onboarding')))
      .returning({ id: users.id })
    if (!activated) return false
    await tx
      .update(profiles)
      .set({
        onboardedAt: now,
        units: imperialCountries.has(draft.countryCode) ? 'imperial' : 'metric',
        updatedAt: now,
      })
      .where(eq(profiles.userId, userId))
    await tx
      .insert(searchPreferences)
      .values({ userId, genders, ...ages, maxDistanceKm, updatedAt: now })
      .onConflictDoUpdate({
        target: searchPreferences.userId,
        set: { genders, ...ages, maxDistanceKm, updatedAt: now },
      })
    return true
  })
  if (!finished) throw new ApiError('already_onboarded', 'This account has finished onboarding')
  await forgetAccount(s, userId)
  return { userId, urlSlug: state.urlSlug! }
}

/**
 * Daily: drop onboarding drafts nobody touched for a week — their photos and voice bio (whose
 * files the storage triggers queue for deletion), the draft profile and the name. The account itself
 * stays, so a member who comes back starts onboarding afresh with the same sign-in. At most
 * `batchSize` accounts per run; safe to run concurrently (rows are locked, others skipped).
 */
export async function purgeStaleOnboardings(s: Services, opts: { batchSize: number }): Promise<number> {
  const cutoff = new Date(s.clock.now().getTime() - onboardingDraftTtlMs)
  const purged = await s.database.transaction(async (tx) => {
    const stale = await tx
      .select({ userId: users.id })
      .from(users)
      .where(
        and(
          eq(users.status, 'onboarding'),
          lt(users.createdAt, cutoff),
          sql`coalesce((select ${profiles.updatedAt} from ${profiles} where ${profiles.userId} = ${users.id}), ${users.createdAt}) < ${cutoff}`,
          sql`not exists (select 1 from ${photos} where ${photos.userId} = ${users.id} and ${photos.createdAt} >= ${cutoff})`,
          sql`not exists (select 1 from ${voiceBios} where ${voiceBios.userId} = ${users.id} and ${voiceBios.createdAt} >= ${cutoff})`,
          sql`(${users.name} is not null
            or exists (select 1 from ${profiles} where ${profiles.userId} = ${users.id})
            or exists (select 1 from ${photos} where ${photos.userId} = ${users.id})
            or exists (select 1 from ${voiceBios} where ${voiceBios.userId} = ${users.id}))`,
        ),
      )
      .limit(opts.batchSize)
      .for('update', { skipLocked: true })
    const ids = stale.map((r) => r.userId)
    if (ids.length === 0) return ids
    await tx.delete(photos).where(inArray(photos.userId, ids))
    await tx.delete(voiceBios).where(inArray(voiceBios.userId, ids))
    await tx.delete(profiles).where(inArray(profiles.userId, ids))
    await tx.update(users).set({ name: null, updatedAt: s.clock.now() }).where(inArray(users.id, ids))
    return ids
  })
  await Promise.all(purged.map((id) => forgetAccount(s, id)))
  return purged.length
}
