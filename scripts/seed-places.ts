import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { type PlaceRow, buildPlaces, placesDatasetVersion } from './places-data'

/**
 * `npm run db:seed-places`: load the world-cities dataset (scripts/places-data.ts) into `places`.
 * `applyMigrations` (scripts/migrate.ts) runs the same sync through scripts/reference-data.ts, so
 * every migrated database — `npm run dev`, the test suite, a deploy — has places without this
 * command; run it by hand to reload (`-- --force`) or to time the load.
 */

/**
 * Marks which dataset the table holds, as the table's comment: a comment needs no schema of its
 * own, and PostgreSQL, Neon and PGlite all keep it.
 */
const commentPrefix = 'Places dataset: '

/** Rows per INSERT: a handful of statements, each a few MB. */
const batchSize = 25_000

const columns = [
  'name',
  'region',
  'country',
  'country_code',
  'label',
  'short_label',
  'search_key',
  'latitude',
  'longitude',
  'population',
] as const

/**
 * Separates values within one column's parameter. The ASCII unit separator occurs in no place name
 * (checked before sending), and neither PostgreSQL nor PGlite needs it escaped.
 */
const unitSeparator = '\x1f'

/**
 * Rows travel as one text parameter per column, split back into arrays by `string_to_array` and
 * zipped into rows by `unnest`. This is about twice as fast as array parameters, whose per-element
 * quoting costs more than the insert itself, and needs no COPY, which the embedded PGlite server
 * cannot do (scripts/embedded/postgres.ts). An empty region stands for null.
 */
const fromColumns = `select * from unnest(
  string_to_array($1, E'\\x1f'), string_to_array($2, E'\\x1f', ''), string_to_array($3, E'\\x1f'),
  string_to_array($4, E'\\x1f'), string_to_array($5, E'\\x1f'), string_to_array($6, E'\\x1f'),
  string_to_array($7, E'\\x1f'), string_to_array($8, ',')::float8[], string_to_array($9, ',')::float8[],
  string_to_array($10, ',')::int[])`

function columnText(values: (string | null)[]): string {
  for (const value of values) {
    if (value?.includes(unitSeparator)) throw new Error(`place data contains a control character: ${value}`)
  }
  return values.map((v) => v ?? '').join(unitSeparator)
}

async function insertBatches(client: pg.Client, table: string, rows: PlaceRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize)
    await client.query(`insert into ${table} (${columns.join(', ')}) ${fromColumns}`, [
      columnText(batch.map((r) => r.name)),
      columnText(batch.map((r) => r.region)),
      columnText(batch.map((r) => r.country)),
      columnText(batch.map((r) => r.countryCode)),
      columnText(batch.map((r) => r.label)),
      columnText(batch.map((r) => r.shortLabel)),
      columnText(batch.map((r) => r.searchKey)),
      batch.map((r) => r.latitude).join(','),
      batch.map((r) => r.longitude).join(','),
      batch.map((r) => r.population).join(','),
    ])
  }
}

/**
 * Fill the empty table with its secondary indexes dropped and rebuilt afterwards, from their own
 * definitions as the migrations created them: building the trigram index once over all rows takes
 * a third of the time of maintaining it row by row (measured: ~0.5 s + ~0.6 s against ~2 s on this
 * machine). Indexes that back constraints (the primary key) stay.
 */
async function fillEmpty(client: pg.Client, rows: PlaceRow[]): Promise<void> {
  const { rows: indexes } = await client.query<{ name: string; definition: string }>(
    `select c.relname as name, pg_get_indexdef(i.indexrelid) as definition
     from pg_index i join pg_class c on c.oid = i.indexrelid
     where i.indrelid = 'places'::regclass
       and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)`,
  )
  for (const index of indexes) await client.query(`drop index ${client.escapeIdentifier(index.name)}`)
  await insertBatches(client, 'places', rows)
  for (const index of indexes) await client.query(index.definition)
}

/**
 * Bring `places` to the rows of the current dataset, in one transaction. Skipped (one small query)
 * when the table already holds this dataset version, unless `force`. An empty table is filled
 * directly; otherwise rows are matched by label, so a place keeps its id (and the members who
 * chose it) across dataset updates: changed places are updated, new ones inserted, and places no
 * longer in the dataset deleted — except those a profile still points at, which stay so that no
 * member silently loses their location. `verification_required` is never touched: it is set by
 * operators, not by the dataset.
 *
 * @example
 * const { places, loaded } = await syncPlaces(client) // { places: 48999, loaded: true, … }
 */
export async function syncPlaces(
  client: pg.Client,
  opts: { force?: boolean } = {},
): Promise<{ places: number; loaded: boolean; version: string }> {
  const version = placesDatasetVersion()
  await client.query('begin')
  try {
    // Two migrators racing on one database load once: the second waits here, then sees the comment.
    await client.query('lock table places in share row exclusive mode')
    const current = await client.query<{ comment: string | null; n: number }>(
      `select obj_description('places'::regclass, 'pg_class') as comment, (select count(*)::int from places) as n`,
    )
    const { comment, n } = current.rows[0]!
    // An emptied table (TRUNCATE keeps the comment) is loaded again.
    if (!opts.force && n > 0 && comment === commentPrefix + version) {
      await client.query('commit')
      return { places: n, loaded: false, version }
    }

    const rows = buildPlaces()
    if (n === 0) {
      await fillEmpty(client, rows)
    } else {
      await client.query(
        `create temporary table incoming_places (
           name text not null, region text, country text not null, country_code text not null,
           label text not null, short_label text not null, search_key text not null,
           latitude float8 not null, longitude float8 not null, population int not null
         ) on commit drop`,
      )
      await insertBatches(client, 'incoming_places', rows)
      const updatable = columns.filter((c) => c !== 'label')
      await client.query(
        `insert into places (${columns.join(', ')})
         select ${columns.join(', ')} from incoming_places
         on conflict (label) do update set ${updatable.map((c) => `${c} = excluded.${c}`).join(', ')}
         where (${updatable.map((c) => `places.${c}`).join(', ')})
           is distinct from (${updatable.map((c) => `excluded.${c}`).join(', ')})`,
      )
      await client.query(
        `delete from places p
         where not exists (select 1 from incoming_places i where i.label = p.label)
           and not exists (select 1 from profiles where profiles.place_id = p.id)`,
      )
    }
    await client.query(`comment on table places is ${client.escapeLiteral(commentPrefix + version)}`)
    const total = await client.query<{ n: number }>('select count(*)::int as n from places')
    await client.query('commit')
    return { places: total.rows[0]!.n, loaded: true, version }
  } catch (err) {
    await client.query('rollback')
    throw err
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.env.DATABASE_URL
  if (!url) {
    console.error('db:seed-places: DATABASE_URL is not set (postgres://user:password@host:port/db)')
    process.exit(2)
  }
  const force = process.argv.includes('--force')
  const client = new pg.Client({ connectionString: url })
  const started = performance.now()
  client
    .connect()
    .then(() => syncPlaces(client, { force }))
    .then(
      ({ places, loaded, version }) => {
        const ms = Math.round(performance.now() - started)
        console.log(
          loaded
            ? `db:seed-places: ${places} places loaded in ${ms} ms (${version})`
            : `db:seed-places: ${places} places already loaded (${version}); --force reloads`,
        )
      },
      (err: unknown) => {
        console.error('db:seed-places failed:', err instanceof Error ? err.message : err)
        process.exitCode = 1
      },
    )
    .finally(() => client.end())
}
