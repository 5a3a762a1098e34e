import { type SQL, sql } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'

const earthRadiusKm = 6371

/**
 * Great-circle distance in km between a row's coordinates and a point, as SQL (haversine).
 * Plain SQL rather than PostGIS/earthdistance: Rapport needs no extension beyond pg_trgm, which
 * Neon, Debian's PostgreSQL and PGlite all ship.
 *
 * @example
 * db.select().from(profiles).where(sql`${distanceKm(profiles.latitude, profiles.longitude, 51.5, -0.12)} <= 50`)
 */
export function distanceKm(
  latitude: AnyPgColumn | SQL,
  longitude: AnyPgColumn | SQL,
  toLatitude: number | AnyPgColumn | SQL,
  toLongitude: number | AnyPgColumn | SQL,
): SQL<number> {
  // least(1, …) guards asin against rounding pushing its argument a hair above 1.
  return sql<number>`(${earthRadiusKm} * 2 * asin(least(1, sqrt(
    power(sin(radians(${toLatitude} - ${latitude}) / 2), 2)
    + cos(radians(${latitude})) * cos(radians(${toLatitude}))
      * power(sin(radians(${toLongitude} - ${longitude}) / 2), 2)))))`
}

/**
 * Whole years between a date of birth (YYYY-MM-DD) and `now`, in UTC.
 *
 * @example
 * ageOn('2000-02-29', new Date('2018-02-28T12:00:00Z')) // 17
 */
export function ageOn(dateOfBirth: string, now: Date): number {
  const [y, m, d] = dateOfBirth.split('-').map(Number) as [number, number, number]
  let age = now.getUTCFullYear() - y
  const beforeBirthday = now.getUTCMonth() + 1 < m || (now.getUTCMonth() + 1 === m && now.getUTCDate() < d)
  if (beforeBirthday) age -= 1
  return age
}

/** The age range a member starts with: age ± (2 + (age − 18) / 5), within 18–99. */
export function defaultAgeRange(age: number): { minAge: number; maxAge: number } {
  const spread = 2 + Math.floor((age - 18) / 5)
  return { minAge: Math.max(18, age - spread), maxAge: Math.min(99, age + spread) }
}
