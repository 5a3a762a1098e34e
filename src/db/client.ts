import { Pool, neon, neonConfig } from '@neondatabase/serverless'
import { drizzle as drizzleHttp } from 'drizzle-orm/neon-http'
import { drizzle as drizzleWs, type NeonDatabase } from 'drizzle-orm/neon-serverless'
import * as schema from './schema'

export type Schema = typeof schema
export type HttpDb = ReturnType<typeof drizzleHttp<Schema>>
export type TxDb = NeonDatabase<Schema>

let configuredProxy: string | undefined

/**
 * Point the Neon driver at the local stand-in (scripts/local-stack/neon-proxy.ts) instead of
 * Neon's edge. Only ever called with `NEON_LOCAL_PROXY`, which config refuses outside `local`,
 * so production keeps the driver's defaults untouched. `neonConfig` is module-global, hence the
 * guard: every request in an isolate shares one setting.
 */
function useLocalProxy(proxy: string) {
  if (configuredProxy === proxy) return
  neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${host}:${port}`
  neonConfig.useSecureWebSocket = false
  neonConfig.pipelineTLS = false
  // Neon's proxy accepts the startup message pipelined with the password; plain Postgres does not.
  neonConfig.pipelineConnect = false
  neonConfig.fetchEndpoint = () => `http://${proxy}/sql`
  configuredProxy = proxy
}

export interface Database {
  /** drizzle over Neon's HTTP endpoint: one round trip per statement, no connection set-up. */
  db: HttpDb
  /**
   * Run `fn` in an interactive transaction over a WebSocket connection opened for this call and
   * closed after it. Workers cannot share sockets between requests, so there is no pool to reuse.
   */
  transaction<T>(fn: (tx: Parameters<Parameters<TxDb['transaction']>[0]>[0]) => Promise<T>): Promise<T>
}

/**
 * @example
 * const { db, transaction } = createDatabase({ url: config.database.url, localProxy: config.database.localProxy })
 * const rows = await db.select().from(jobs).limit(10)
 */
export function createDatabase(opts: { url: string; localProxy?: string }): Database {
  if (opts.localProxy) useLocalProxy(opts.localProxy)
  const key = `${opts.url}\n${opts.localProxy ?? ''}`
  let database = databases.get(key)
  if (!database) {
    database = build(opts.url)
    databases.set(key, database)
  }
  return database
}

/**
 * One Database per connection string per isolate. The HTTP client holds no socket (each query is
 * a fetch), so sharing it across requests is safe, and building a drizzle instance with the
 * schema is not free — it would otherwise run on every request, /health included. Transactions
 * still open their own WebSocket per call.
 */
const databases = new Map<string, Database>()

function build(url: string): Database {
  return {
    // Raw SQL goes through db.execute(sql`…`): drizzle's neon-http driver replaces the driver's
    // *global* date/time parsers with pass-through ones, so a second raw client would not parse
    // dates either — one access path keeps that surprise in one place.
    db: drizzleHttp({ client: neon(url), schema }),
    async transaction(fn) {
      const pool = new Pool({ connectionString: url, max: 1 })
      // Ending a pool closes its socket, which can surface as an 'error' event; without a
      // listener that event would be an uncaught exception.
      pool.on('error', () => {})
      try {
        return await drizzleWs({ client: pool, schema }).transaction(fn)
      } finally {
        await pool.end()
      }
    },
  }
}
