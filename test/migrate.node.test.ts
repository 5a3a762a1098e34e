import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyMigrations } from '../scripts/migrate'
import { questions } from '../scripts/personality-data'

const adminUrl = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const dbName = `rapport_migrate_${randomBytes(4).toString('hex')}`
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString()
const admin = new pg.Client({ connectionString: adminUrl })

beforeAll(async () => {
  await admin.connect()
  await admin.query(`create database ${dbName}`)
})

afterAll(async () => {
  await admin.query(`drop database if exists ${dbName} with (force)`)
  await admin.end()
})

describe('db:migrate', () => {
  it('applies every migration once and is a no-op the second time', async () => {
    const first = await applyMigrations(dbUrl)
    expect(first.applied).toBeGreaterThan(0)
    expect(first.disposableDomains).toBeGreaterThan(1000)
    expect(first.places).toBeGreaterThan(40_000)
    expect(first.questions).toBe(questions.length)
    expect(await applyMigrations(dbUrl)).toEqual({
      applied: 0,
      disposableDomains: first.disposableDomains,
      places: first.places,
      questions: first.questions,
    })

    const client = new pg.Client({ connectionString: dbUrl })
    await client.connect()
    try {
      const { rows } = await client.query(`select count(*)::int as n from drizzle.__drizzle_migrations`)
      expect(rows[0].n).toBe(first.applied)
      const tables = await client.query(`select to_regclass('public.jobs') as t`)
      expect(tables.rows[0].t).toBe('jobs')
      const domains = await client.query(`select count(*)::int as n from disposable_email_domains`)
      expect(domains.rows[0].n).toBe(first.disposableDomains)
    } finally {
      await client.end()
    }
  })

  it('fails with the server error for an unreachable database', async () => {
    await expect(applyMigrations('postgres://postgres@127.0.0.1:1/none')).rejects.toThrow(
      /ECONNREFUSED|connect/,
    )
  })
})
