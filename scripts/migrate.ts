import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { drizzle } from 'drizzle-orm/node-postgres'
import { migrate } from 'drizzle-orm/node-postgres/migrator'
import { syncReferenceData } from './reference-data'

export const migrationsFolder = fileURLToPath(new URL('../migrations', import.meta.url))

/**
 * Apply every pending migration in migrations/ to `databaseUrl`, then sync reference data
 * (scripts/reference-data.ts). drizzle records applied migrations (by hash) in
 * `drizzle.__drizzle_migrations`, so a second run applies nothing.
 * Runs from Node over a plain TCP connection: migrations are an operator step, not Worker code.
 */
export async function applyMigrations(
  databaseUrl: string,
): Promise<{ applied: number; disposableDomains: number; places: number; questions: number }> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const count = async () => {
      const { rows } = await client.query<{ n: string }>(
        `select count(*) as n from information_schema.tables
         where table_schema = 'drizzle' and table_name = '__drizzle_migrations'`,
      )
      if (rows[0]?.n === '0') return 0
      const applied = await client.query<{ n: string }>(
        'select count(*) as n from drizzle.__drizzle_migrations',
      )
      return Number(applied.rows[0]?.n ?? 0)
    }
    const before = await count()
    await migrate(drizzle({ client }), { migrationsFolder })
    const applied = (await count()) - before
    return { applied, ...(await syncReferenceData(client)) }
  } finally {
    await client.end()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.env.DATABASE_URL
  if (!url) {
    console.error('db:migrate: DATABASE_URL is not set (postgres://user:password@host:port/db)')
    process.exit(2)
  }
  applyMigrations(url).then(
    ({ applied, disposableDomains, places, questions }) =>
      console.log(
        `db:migrate: ${applied} migration(s) applied; ${disposableDomains} disposable email domains, ${places} places and ${questions} personality questions synced`,
      ),
    (err: unknown) => {
      console.error('db:migrate failed:', err instanceof Error ? err.message : err)
      process.exit(1)
    },
  )
}
