import { desc, eq } from 'drizzle-orm'
import { places, profiles, users } from '../../src/db/schema'
import type { Role } from '../../src/services/accounts/tokens'
import { startSession } from '../../src/services/accounts/sessions'
import { api, services } from './helpers'
import { uniqueIp } from './auth-helpers'

const s = services()
const tag = () => crypto.randomUUID().replaceAll('-', '').slice(0, 12)

/**
 * `users` rows straight into the database, the one place tests create accounts: each gets a
 * unique address (so test files running in parallel never collide) unless its values name one,
 * and any column can be set, e.g. `{ status: 'active', tierId }`.
 *
 * @example
 * const [admin, bot] = await insertUsers([{ role: 'admin' }, { role: 'bot' }])
 */
export function insertUsers(rows: Partial<typeof users.$inferInsert>[]) {
  return s.database.db
    .insert(users)
    .values(
      rows.map((values) => {
        const email = values.email ?? `user-${tag()}@example.org`
        return { email, emailDisplay: email, ...values }
      }),
    )
    .returning()
}

/**
 * An active account with a live session, straight into the database; `values` overrides any
 * column, e.g. `{ tierId }`.
 */
export async function account(role: Role = 'member', values: Partial<typeof users.$inferInsert> = {}) {
  const t = tag()
  const [user] = await insertUsers([
    {
      email: `acct-${t}@example.org`,
      emailDisplay: `Acct-${t}@example.org`,
      role,
      status: 'active',
      ...values,
    },
  ])
  const session = await startSession(s, user!, { client: 'mobile', ip: '198.51.100.9' })
  return { ...user!, token: session.accessToken, refresh: session.refreshToken }
}

/**
 * A request from a fresh client IP, with an optional bearer token and body (objects are sent as
 * JSON). The last argument is a content type (string) or extra headers.
 */
export function call(
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  extra: string | Record<string, string> = 'application/json',
) {
  const contentType = typeof extra === 'string' ? extra : 'application/json'
  return api(path, {
    method,
    headers: {
      'CF-Connecting-IP': uniqueIp(),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': contentType }),
      ...(typeof extra === 'string' ? {} : extra),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
}

/**
 * An onboarded member: an active account with a session (see {@link account}) and a finished
 * profile in Sydney, straight into the database. `profile` overrides profile columns.
 */
export async function member(
  opts: {
    name?: string
    user?: Partial<typeof users.$inferInsert>
    profile?: Partial<typeof profiles.$inferInsert>
  } = {},
) {
  const user = await account('member', { name: opts.name ?? 'Sam', ...opts.user })
  const [place] = await s.database.db
    .select()
    .from(places)
    .where(eq(places.countryCode, 'AU'))
    .orderBy(desc(places.population))
    .limit(1)
  const [profile] = await s.database.db
    .insert(profiles)
    .values({
      userId: user.id,
      urlSlug: `sam-${tag()}`,
      dateOfBirth: '1994-05-17',
      placeId: place!.id,
      latitude: place!.latitude,
      longitude: place!.longitude,
      gender: 'woman',
      seekingGenders: ['man'],
      onboardedAt: new Date(),
      ...opts.profile,
    })
    .returning()
  return { ...user, profile: profile!, place: place! }
}
