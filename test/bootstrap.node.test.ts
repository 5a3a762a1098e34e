import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyPassword } from '../src/services/accounts/password'
import { BootstrapError, adminFromEnv, bootstrap } from '../scripts/bootstrap'
import { applyMigrations } from '../scripts/migrate'

const adminUrl = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const dbName = `rapport_bootstrap_${randomBytes(4).toString('hex')}`
const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString()
const admin = new pg.Client({ connectionString: adminUrl })
const db = new pg.Client({ connectionString: databaseUrl })
const root = fileURLToPath(new URL('..', import.meta.url))

const ada = {
  name: 'Ada Lovelace',
  email: '  Ada.Lovelace+ops@GoogleMail.com ',
  username: 'Ada_L',
  password: 'analytical engine, 1843 notes',
}

beforeAll(async () => {
  await admin.connect()
  await admin.query(`create database ${dbName}`)
  await applyMigrations(databaseUrl)
  await db.connect()
})

afterAll(async () => {
  await db.end()
  await admin.query(`drop database if exists ${dbName} with (force)`)
  await admin.end()
})

const count = async (table: 'users' | 'tiers') =>
  (await db.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n

describe('bootstrap', () => {
  it('creates the tier and an active admin, then changes nothing on a second run and says so', async () => {
    const lines: string[] = []
    const first = await bootstrap({ databaseUrl, tierName: 'free', admin: ada, log: (l) => lines.push(l) })
    expect(first).toMatchObject({
      changed: true,
      tier: { name: 'free', created: true },
      admin: { email: 'adalovelace@gmail.com', username: 'ada_l', created: true },
    })
    expect(lines.join('\n')).toMatch(/tier "free" created[\s\S]*admin ada_l <adalovelace@gmail.com> created/)

    const { rows } = await db.query(
      `select u.*, t.name as tier_name from users u left join tiers t on t.id = u.tier_id where u.id = $1`,
      [first.admin!.id],
    )
    expect(rows[0]).toMatchObject({
      role: 'admin',
      status: 'active',
      name: 'Ada Lovelace',
      email: 'adalovelace@gmail.com',
      email_display: 'Ada.Lovelace+ops@GoogleMail.com',
      tier_name: 'free',
    })
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$/)
    expect(await verifyPassword(ada.password, rows[0].password_hash)).toBe(true)

    const again: string[] = []
    const second = await bootstrap({ databaseUrl, tierName: 'free', admin: ada, log: (l) => again.push(l) })
    expect(second).toMatchObject({
      changed: false,
      tier: { id: first.tier.id, created: false },
      admin: { id: first.admin!.id, created: false },
    })
    expect(again.join('\n')).toMatch(/already exists[\s\S]*nothing to do/)
    expect(await count('users')).toBe(1)
    expect(await count('tiers')).toBe(1)
    // Re-running with another password does not rotate it.
    await bootstrap({
      databaseUrl,
      admin: { ...ada, password: 'a different, long passphrase' },
      log: () => {},
    })
    const after = await db.query('select password_hash from users where id = $1', [first.admin!.id])
    expect(after.rows[0].password_hash).toBe(rows[0].password_hash)
  })

  it('refuses a weak password with a clear error before writing anything', async () => {
    const attempt = bootstrap({
      databaseUrl,
      tierName: 'weak-tier',
      admin: { name: 'Bob', email: 'bob@example.org', username: 'bob', password: 'Password2024!' },
      log: () => {},
    })
    await expect(attempt).rejects.toBeInstanceOf(BootstrapError)
    await expect(attempt).rejects.toThrow(/ADMIN_PASSWORD is too weak: it is built from a common password/)
    await expect(
      bootstrap({ databaseUrl, admin: { ...ada, email: 'x@example.org', password: 'short' }, log: () => {} }),
    ).rejects.toThrow(/ADMIN_PASSWORD is too weak: it must be at least 12 characters/)
    const tiers = await db.query(`select 1 from tiers where name = 'weak-tier'`)
    expect(tiers.rowCount).toBe(0)
  })

  it('refuses a bad email or username, a taken username, and an existing non-admin email', async () => {
    const base = { name: 'Cy', email: 'cy@example.org', username: 'cy_ops', password: ada.password }
    await expect(bootstrap({ databaseUrl, admin: { ...base, email: 'nope' } })).rejects.toThrow(/ADMIN_EMAIL/)
    await expect(bootstrap({ databaseUrl, admin: { ...base, username: 'no spaces' } })).rejects.toThrow(
      /ADMIN_USERNAME must be/,
    )
    await expect(
      bootstrap({ databaseUrl, admin: { ...base, username: 'ada_l' }, log: () => {} }),
    ).rejects.toThrow(/ADMIN_USERNAME ada_l is taken/)
    await db.query(
      `insert into users (email, email_display, role, status) values ('member@example.org', 'member@example.org', 'member', 'active')`,
    )
    await expect(
      bootstrap({ databaseUrl, admin: { ...base, email: 'member@example.org' }, log: () => {} }),
    ).rejects.toThrow(/existing member account; bootstrap does not promote/)
    expect(await count('users')).toBe(2)
  })

  it('creates only the tier when no admin is configured, with a notice', async () => {
    const lines: string[] = []
    const result = await bootstrap({ databaseUrl, tierName: 'pro', log: (l) => lines.push(l) })
    expect(result).toMatchObject({ admin: null, changed: true, tier: { name: 'pro', created: true } })
    expect(lines.join('\n')).toMatch(/ADMIN_NAME, ADMIN_EMAIL, ADMIN_USERNAME, ADMIN_PASSWORD are not set/)
  })

  it('reads ADMIN_* all-or-nothing', () => {
    expect(adminFromEnv({})).toBeNull()
    expect(adminFromEnv({ ADMIN_NAME: ' ' })).toBeNull()
    expect(() => adminFromEnv({ ADMIN_EMAIL: 'a@example.org', ADMIN_PASSWORD: 'x' })).toThrow(
      /ADMIN_NAME, ADMIN_USERNAME must be set too/,
    )
    expect(
      adminFromEnv({
        ADMIN_NAME: 'A',
        ADMIN_EMAIL: 'a@example.org',
        ADMIN_USERNAME: 'a',
        ADMIN_PASSWORD: 'p',
      }),
    ).toEqual({ name: 'A', email: 'a@example.org', username: 'a', password: 'p' })
  })

  it('runs as `npm run bootstrap`: exit 0 and "nothing to do" on an already bootstrapped database', async () => {
    const env = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      ADMIN_NAME: ada.name,
      ADMIN_EMAIL: ada.email,
      ADMIN_USERNAME: ada.username,
      ADMIN_PASSWORD: ada.password,
    }
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'scripts/bootstrap.ts'], { cwd: root, env })
    expect(stdout).toContain('bootstrap: nothing to do')

    const weak = promisify(execFile)('npx', ['tsx', 'scripts/bootstrap.ts'], {
      cwd: root,
      env: { ...env, ADMIN_PASSWORD: 'aaaaaaaaaaaa' },
    })
    await expect(weak).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('ADMIN_PASSWORD') })
  })
})
