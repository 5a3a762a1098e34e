import { fileURLToPath } from 'node:url'
import { eq, or } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { tiers, users } from '../src/db/schema'
import { InvalidEmailError, normalizeEmail } from '../src/services/accounts/email'
import { checkPasswordStrength, hashPassword } from '../src/services/accounts/password'

/**
 * `npm run bootstrap`: the boilerplate's first-tier and first-superuser scripts in one idempotent
 * command. It creates the tier `TIER_NAME` (default `free`) and, when `ADMIN_NAME`,
 * `ADMIN_EMAIL`, `ADMIN_USERNAME` and `ADMIN_PASSWORD` are set, an active admin account on that
 * tier, in the database `DATABASE_URL`. Running it again changes nothing and says so: an existing
 * admin keeps its password (rotate it by signing in, not by re-running bootstrap).
 *
 * It runs in Node over a plain TCP connection, like the migrations, and hashes the password with
 * the same module the Worker verifies with (src/services/accounts/password.ts).
 */

export interface BootstrapAdmin {
  name: string
  email: string
  username: string
  password: string
}

export interface BootstrapOptions {
  databaseUrl: string
  /** Default `free`. */
  tierName?: string
  /** No admin is created when absent (a notice says so). */
  admin?: BootstrapAdmin | null
  /** Progress lines; `bootstrap: …` on the console by default. */
  log?: (line: string) => void
}

export interface BootstrapResult {
  tier: { id: string; name: string; created: boolean }
  admin: { id: string; email: string; username: string | null; created: boolean } | null
  /** Whether this run wrote anything. */
  changed: boolean
}

/** Input that cannot be bootstrapped (weak password, bad email, a username taken by someone else…). */
export class BootstrapError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BootstrapError'
  }
}

const adminVariables = ['ADMIN_NAME', 'ADMIN_EMAIL', 'ADMIN_USERNAME', 'ADMIN_PASSWORD'] as const

/**
 * The admin described by `ADMIN_*` variables: all four set → an admin; none → `null`; some →
 * {@link BootstrapError} naming the missing ones (half a configuration is a mistake, not a choice).
 *
 * @example
 * const admin = adminFromEnv(process.env)
 */
export function adminFromEnv(env: Record<string, string | undefined>): BootstrapAdmin | null {
  const present = adminVariables.filter((name) => env[name]?.trim())
  if (present.length === 0) return null
  const missing = adminVariables.filter((name) => !present.includes(name))
  if (missing.length) {
    throw new BootstrapError(`${missing.join(', ')} must be set too (or none of the ADMIN_* variables)`)
  }
  return {
    name: env.ADMIN_NAME!,
    email: env.ADMIN_EMAIL!,
    username: env.ADMIN_USERNAME!,
    password: env.ADMIN_PASSWORD!,
  }
}

/** Validate and canonicalise the admin before touching the database, so bad input writes nothing. */
function prepareAdmin(admin: BootstrapAdmin) {
  const name = admin.name.trim()
  if (name.length === 0 || name.length > 100) throw new BootstrapError('ADMIN_NAME must be 1–100 characters')
  let email: string
  try {
    email = normalizeEmail(admin.email)
  } catch (err) {
    if (err instanceof InvalidEmailError) {
      throw new BootstrapError(`ADMIN_EMAIL is not a valid email address: ${JSON.stringify(admin.email)}`)
    }
    throw err
  }
  const username = admin.username.trim().toLowerCase()
  if (!/^[a-z0-9_]{2,30}$/.test(username)) {
    throw new BootstrapError('ADMIN_USERNAME must be 2–30 characters of a–z, 0–9 and _')
  }
  const problems = checkPasswordStrength(admin.password, { username, email, name })
  if (problems.length) {
    throw new BootstrapError(`ADMIN_PASSWORD is too weak: it ${problems.join('; it ')}`)
  }
  return { name, email, emailDisplay: admin.email.trim(), username, password: admin.password }
}

/**
 * Create the first tier and the first admin if they do not exist yet.
 *
 * @example
 * await bootstrap({
 *   databaseUrl: 'postgres://postgres@127.0.0.1:5432/rapport',
 *   tierName: 'free',
 *   admin: { name: 'Ada', email: 'ada@example.org', username: 'ada', password: 'correct horse battery staple' },
 * })
 */
export async function bootstrap(options: BootstrapOptions): Promise<BootstrapResult> {
  const log = options.log ?? ((line: string) => console.log(`bootstrap: ${line}`))
  const tierName = (options.tierName ?? 'free').trim()
  if (!tierName || tierName.length > 50) throw new BootstrapError('TIER_NAME must be 1–50 characters')
  const admin = options.admin ? prepareAdmin(options.admin) : null

  const client = new pg.Client({ connectionString: options.databaseUrl })
  await client.connect()
  try {
    const result = await drizzle({ client }).transaction(async (tx) => {
      const [inserted] = await tx
        .insert(tiers)
        .values({ name: tierName })
        .onConflictDoNothing({ target: tiers.name })
        .returning({ id: tiers.id })
      const tier = inserted
        ? { id: inserted.id, name: tierName, created: true }
        : {
            ...(await tx.select({ id: tiers.id }).from(tiers).where(eq(tiers.name, tierName)))[0]!,
            name: tierName,
            created: false,
          }
      log(tier.created ? `tier "${tierName}" created` : `tier "${tierName}" already exists`)

      if (!admin) {
        log(
          `${adminVariables.join(', ')} are not set: no admin account created. ` +
            'Set all four and run `npm run bootstrap` again to create one.',
        )
        return { tier, admin: null, changed: tier.created }
      }

      const existing = await tx
        .select({ id: users.id, email: users.email, username: users.username, role: users.role })
        .from(users)
        .where(or(eq(users.email, admin.email), eq(users.username, admin.username)))
      const sameEmail = existing.find((u) => u.email === admin.email)
      if (sameEmail) {
        if (sameEmail.role !== 'admin') {
          throw new BootstrapError(
            `ADMIN_EMAIL ${admin.email} belongs to an existing ${sameEmail.role} account; bootstrap does not ` +
              'promote accounts. Use another address, or change that account’s role in the database.',
          )
        }
        log(
          `admin ${admin.email} already exists (username ${sameEmail.username ?? '—'}); left unchanged, ` +
            'password included',
        )
        return {
          tier,
          admin: { id: sameEmail.id, email: sameEmail.email, username: sameEmail.username, created: false },
          changed: tier.created,
        }
      }
      if (existing.length) {
        throw new BootstrapError(`ADMIN_USERNAME ${admin.username} is taken by another account`)
      }
      const [created] = await tx
        .insert(users)
        .values({
          email: admin.email,
          emailDisplay: admin.emailDisplay,
          username: admin.username,
          name: admin.name,
          role: 'admin',
          status: 'active',
          passwordHash: await hashPassword(admin.password),
          tierId: tier.id,
        })
        .returning({ id: users.id })
      log(`admin ${admin.username} <${admin.email}> created on tier "${tierName}"`)
      return {
        tier,
        admin: { id: created!.id, email: admin.email, username: admin.username, created: true },
        changed: true,
      }
    })
    if (!result.changed) log('nothing to do: the database was already bootstrapped')
    return result
  } finally {
    await client.end()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const databaseUrl = process.env.DATABASE_URL
  if (!databaseUrl) {
    console.error('bootstrap: DATABASE_URL is not set (postgres://user:password@host:port/db)')
    process.exit(2)
  }
  const run = async () =>
    bootstrap({ databaseUrl, tierName: process.env.TIER_NAME || 'free', admin: adminFromEnv(process.env) })
  run().then(
    () => process.exit(0),
    (err: unknown) => {
      if (err instanceof BootstrapError) {
        console.error(`bootstrap: ${err.message}`)
        process.exit(2)
      }
      console.error('bootstrap failed:', err instanceof Error ? err.message : err)
      process.exit(1)
    },
  )
}
