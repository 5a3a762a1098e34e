import type pg from 'pg'
import disposableDomains from 'disposable-email-domains-js/dist/dict/disposable_email_blocklist.json' with { type: 'json' }
import { syncPersonality } from './seed-personality'
import { syncPlaces } from './seed-places'

/**
 * Bring reference tables in line with the data the project pins. Idempotent: re-running inserts
 * nothing new and removes nothing that is still listed. Called by `applyMigrations`, so every
 * environment that is migrated also has current reference data.
 */
export async function syncReferenceData(
  client: pg.Client,
): Promise<{ disposableDomains: number; places: number; questions: number }> {
  const domains = [
    ...new Set((disposableDomains as string[]).map((d) => d.trim().toLowerCase()).filter(Boolean)),
  ]
  await client.query('begin')
  try {
    await client.query(
      'insert into disposable_email_domains (domain) select unnest($1::text[]) on conflict do nothing',
      [domains],
    )
    await client.query('delete from disposable_email_domains where not (domain = any($1::text[]))', [domains])
    await client.query('commit')
  } catch (err) {
    await client.query('rollback')
    throw err
  }
  // The world-cities dataset (scripts/places-data.ts); a no-op when this version is already loaded.
  const { places } = await syncPlaces(client)
  // The personality question bank (scripts/personality-data.ts); likewise versioned.
  const { questions } = await syncPersonality(client)
  return { disposableDomains: domains.length, places, questions }
}
