import { defineConfig } from 'drizzle-kit'

// `npm run db:generate` diffs src/db/schema against migrations/ and writes the next SQL file.
// Migrations are applied by `npm run db:migrate` (scripts/migrate.ts), not by drizzle-kit.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './migrations',
  strict: true,
  verbose: true,
})
