/**
 * Local stand-in for Neon's serverless endpoints, so the production driver (`@neondatabase/serverless`) can talk
 * to a plain PostgreSQL server during development and tests.
 *
 * One HTTP server on one port serves both transports the driver uses:
 *
 * - `GET /v1?address=host:port` with `Upgrade: websocket` — a WebSocket→TCP tunnel carrying the Postgres wire
 *   protocol byte for byte (what Neon's `wsproxy` does). Used by the driver's `Pool` and `Client`.
 * - `POST /sql` — Neon's "SQL over HTTP" endpoint, used by `neon()` for single statements and non-interactive
 *   transactions (`sql.transaction([...])`). The request and response shapes follow Neon's proxy
 *   (`proxy/src/serverless/sql_over_http.rs` and `json.rs` in neondatabase/neon) so the driver cannot tell the
 *   difference.
 *
 * Both transports only reach the `host:port` pairs of the allow-list. Without it the tunnel would relay TCP to any
 * address a web page or a stray request names, and `/sql` would let anyone probe hosts with Postgres handshakes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { Socket, connect as tcpConnect } from 'node:net'
import type { Duplex } from 'node:stream'
import {
  DatabaseError,
  Pool,
  type FieldDef,
  type PoolClient,
  type QueryArrayConfig,
  type QueryArrayResult,
} from 'pg'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { STATS_PATTERN, TAG_PATTERN, type TripAccount, type TripCounts, TripLedger } from './trip-log'

export interface NeonProxyOptions {
  /** Port to listen on; `0` (the default) picks a free one, read it back from {@link NeonProxy.port}. */
  port?: number
  /** Interface to bind; defaults to `127.0.0.1` so the proxy is never reachable from other machines. */
  host?: string
  /**
   * `host:port` pairs the proxy may connect to, for both the WebSocket tunnel and the connection strings sent to
   * `/sql`. Defaults to `['127.0.0.1:5432', 'localhost:5432']`. Matching is literal (no DNS resolution), case
   * insensitive; IPv6 hosts are written in brackets, e.g. `[::1]:5432`.
   */
  allowedTargets?: string[]
  /**
   * Tests only: accept `POST /__outage?down=1|tunnels|0` (and {@link NeonProxy.setDown}). `1` points every new
   * connection — `/sql` and tunnels alike — at a closed port on 127.0.0.1 and cuts the open tunnels, as if the
   * database had become unreachable behind Neon's proxy; `tunnels` does that to the WebSocket tunnels only (an
   * interactive transaction fails while single statements still work); `0` restores the real targets.
   */
  outageControl?: boolean
  /**
   * Tests and benches: account what one client asks for. A client given `host:port/__tag/<tag>` as its proxy
   * (the Worker's NEON_LOCAL_PROXY) is served as usual and counted under `<tag>` — HTTP requests and WebSocket
   * tunnels, statements, rows returned and sequential round trips; `GET /__stats/<tag>` answers
   * `{requests, statements, rows, roundTrips, spans}`. Off by default.
   */
  exposeStats?: boolean
}

/** What the stand-in counted: one tag's share, or (from {@link NeonProxy.stats} without a tag) everything. */
export interface NeonStats {
  /** HTTP `/sql` requests plus WebSocket tunnels opened. */
  requests: number
  /** Statements run: each one of an HTTP batch, and each simple query or Execute sent through a tunnel. */
  statements: number
  rows: number
  /** Sequential round trips (see scripts/local-stack/trip-log.ts). */
  roundTrips: number
  spans: TripCounts['spans']
}

export interface NeonProxy {
  /** The port actually bound (useful with `port: 0`). */
  port: number
  /** Stops listening, closes every tunnel and HTTP connection, and ends the Postgres pools. */
  close(): Promise<void>
  /** Simulate the database becoming unreachable (`true`, or only for tunnels) or coming back (`false`); see `outageControl`. */
  setDown(down: boolean | 'tunnels'): void
  /** Counts under `tag`, or of everything served when `tag` is left out (kept whether or not `exposeStats` is on). */
  stats(tag?: string): NeonStats
}

/** Where connections go while an outage is simulated: nothing listens on port 1. */
const UNREACHABLE = makeTarget('127.0.0.1', '1')!

const DEFAULT_ALLOWED_TARGETS = ['127.0.0.1:5432', 'localhost:5432']

/** Neon's defaults for `sql_over_http_max_request_size_bytes` / `..._max_response_size_bytes` (10 MiB each). */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024
const MAX_RESPONSE_BYTES = 10 * 1024 * 1024

/** Pools are keyed by connection parameters; beyond this many the least recently used one is ended. */
const MAX_POOLS = 32
const POOL_MAX_CONNECTIONS = 10

/** Above this many bytes queued towards the WebSocket client, stop reading from Postgres until it drains. */
const WS_HIGH_WATER_MARK = 1024 * 1024

/** The header names of Neon's HTTP protocol (Node lower-cases incoming header names). */
const HEADER = {
  connectionString: 'neon-connection-string',
  rawTextOutput: 'neon-raw-text-output',
  arrayMode: 'neon-array-mode',
  isolationLevel: 'neon-batch-isolation-level',
  readOnly: 'neon-batch-read-only',
  deferrable: 'neon-batch-deferrable',
} as const

const ISOLATION_LEVELS: Record<string, string> = {
  Serializable: 'SERIALIZABLE',
  RepeatableRead: 'REPEATABLE READ',
  ReadCommitted: 'READ COMMITTED',
  ReadUncommitted: 'READ UNCOMMITTED',
}

/** Type OIDs that Neon converts to native JSON values when `Neon-Raw-Text-Output` is not `true`. */
const OID = { bool: 16, int2: 21, int4: 23, float4: 700, float8: 701, json: 114, jsonb: 3802 } as const

/**
 * Every value must reach the driver in Postgres' text form: the driver runs its own type parsers (and drizzle
 * installs its own), so parsing here would change what applications see compared with Neon.
 */
const rawTextTypes = { getTypeParser: () => (value: string) => value }

// ---------------------------------------------------------------------------------------------------------------
// Targets and the allow-list
// ---------------------------------------------------------------------------------------------------------------

interface Target {
  host: string
  port: number
  /** Normalised `host:port` (lower case, IPv6 in brackets) used for allow-list lookups and pool keys. */
  key: string
}

function makeTarget(rawHost: string, rawPort: string): Target | undefined {
  const host = rawHost.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  if (host === '' || !/^\d{1,5}$/.test(rawPort)) return undefined
  const port = Number(rawPort)
  if (port < 1 || port > 65535) return undefined
  return { host, port, key: `${host.includes(':') ? `[${host}]` : host}:${port}` }
}

/**
 * Parses `host:port` as the driver builds it (`${host}:${port}`, so an IPv6 host may arrive without brackets:
 * the port is whatever follows the last colon).
 */
function parseTarget(address: string): Target | undefined {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(address)
  if (bracketed) return makeTarget(bracketed[1] ?? '', bracketed[2] ?? '')
  const colon = address.lastIndexOf(':')
  if (colon <= 0) return undefined
  return makeTarget(address.slice(0, colon), address.slice(colon + 1))
}

// ---------------------------------------------------------------------------------------------------------------
// Errors in Neon's JSON shape
// ---------------------------------------------------------------------------------------------------------------

/** An error answered to the HTTP client with a status and a message (no Postgres error fields). */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Neon always sends every key; absent Postgres fields are `null`, except `code` and `severity`, which are empty
 * strings. The driver copies these keys onto its `NeonDbError` (turning `null` into `undefined`).
 */
function errorBody(message: string, db?: DatabaseError): Record<string, string | null> {
  return {
    message,
    code: db?.code ?? '',
    detail: db?.detail ?? null,
    hint: db?.hint ?? null,
    position: db?.position ?? null,
    internalPosition: db?.internalPosition ?? null,
    internalQuery: db?.internalQuery ?? null,
    severity: db?.severity ?? '',
    where: db?.where ?? null,
    table: db?.table ?? null,
    column: db?.column ?? null,
    schema: db?.schema ?? null,
    dataType: db?.dataType ?? null,
    constraint: db?.constraint ?? null,
    file: db?.file ?? null,
    line: db?.line ?? null,
    routine: db?.routine ?? null,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Request payload
// ---------------------------------------------------------------------------------------------------------------

interface Statement {
  query: string
  params: (string | null)[]
  arrayMode: boolean | undefined
}

/**
 * Converts a JSON parameter to the text Postgres receives, as Neon's `json_to_pg_text` does. The driver already
 * sends strings or null (bytea as `\x…` hex); other shapes only come from hand-written clients.
 */
function paramToText(value: unknown): string | null {
  if (value === null) return null
  if (typeof value === 'string') return value
  if (Array.isArray(value)) return arrayParamToText(value)
  return JSON.stringify(value)
}

/** Neon writes array elements as JSON literals inside `{…}`; objects become quoted JSON text. */
function arrayParamToText(value: unknown): string {
  if (value === null) return 'NULL'
  if (Array.isArray(value)) return `{${value.map(arrayParamToText).join(',')}}`
  if (typeof value === 'object') return JSON.stringify(JSON.stringify(value))
  return JSON.stringify(value)
}

function parseStatement(value: unknown): Statement {
  if (typeof value !== 'object' || value === null) throw new Error('expected an object with a "query" string')
  const { query, params, arrayMode } = value as Record<string, unknown>
  if (typeof query !== 'string') throw new Error('missing field `query`')
  if (params !== undefined && !Array.isArray(params)) throw new Error('`params` must be an array')
  if (arrayMode !== undefined && typeof arrayMode !== 'boolean') {
    throw new Error('`arrayMode` must be a boolean')
  }
  return { query, params: (params ?? []).map(paramToText), arrayMode }
}

/** Neon's payload is untagged: `{query, params?, arrayMode?}` or `{queries: [...]}`. */
function parsePayload(body: Buffer): Statement | Statement[] {
  let json: unknown
  try {
    json = JSON.parse(body.toString('utf8'))
    if (typeof json === 'object' && json !== null && 'queries' in json && !('query' in json)) {
      const { queries } = json as { queries: unknown }
      if (!Array.isArray(queries)) throw new Error('`queries` must be an array')
      return queries.map(parseStatement)
    }
    return parseStatement(json)
  } catch (err) {
    throw new HttpError(400, `could not parse the HTTP request body: ${(err as Error).message}`)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Connection strings and pools
// ---------------------------------------------------------------------------------------------------------------

interface ConnectionParams {
  target: Target
  user: string
  password: string | undefined
  database: string
  applicationName: string | undefined
  options: string | undefined
}

/**
 * Reads the parameters Postgres needs from a `postgres(ql)://` URL. Only these are forwarded: TLS settings
 * (`sslmode=require`, `channel_binding`) describe the client→Neon hop, not ours, and Neon-only `options` tokens
 * (`endpoint=…`, `project=…`) would make a plain Postgres refuse the connection.
 */
function parseConnectionString(connectionString: string | undefined): ConnectionParams {
  if (connectionString === undefined || connectionString === '') {
    throw new HttpError(400, `invalid header: ${HEADER.connectionString}`)
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(connectionString)?.[1]?.toLowerCase()
  if (scheme !== 'postgres' && scheme !== 'postgresql') throw new HttpError(400, 'incorrect scheme')
  let url: URL
  try {
    // Parse as http: so the authority is read the same way for every scheme (as the driver does).
    url = new URL(`http:${connectionString.slice(scheme.length + 1)}`)
  } catch (err) {
    throw new HttpError(400, `invalid connection string: ${(err as Error).message}`)
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (database === '') throw new HttpError(400, 'missing database name')
  const user = decodeURIComponent(url.username)
  if (user === '') throw new HttpError(400, 'missing username')
  const target = makeTarget(url.hostname, url.port === '' ? '5432' : url.port)
  if (!target) throw new HttpError(400, 'missing hostname')
  const options = (url.searchParams.get('options') ?? '')
    .split(/\s+/)
    .filter((token) => token !== '' && !/^(endpoint|project)=/i.test(token))
    .join(' ')
  return {
    target,
    user,
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    database,
    applicationName: url.searchParams.get('application_name') ?? undefined,
    options: options === '' ? undefined : options,
  }
}

interface PoolEntry {
  pool: Pool
  /**
   * For non-raw output only: maps a column type OID to its array element OID, or to `null` when the type is not
   * an array. Filled from `pg_type` on first sight of an OID (custom types differ per database, hence per pool).
   */
  arrayElements: Map<number, number | null>
}

// ---------------------------------------------------------------------------------------------------------------
// Result serialisation (Neon's `pg_text_row_to_json`)
// ---------------------------------------------------------------------------------------------------------------

/** Converts one text value to JSON as Neon does when raw text output is off. */
function textToJson(text: string, oid: number, arrayElements: Map<number, number | null>): string {
  const element = arrayElements.get(oid)
  if (element !== undefined && element !== null) return arrayTextToJson(text, element, arrayElements)
  switch (oid) {
    case OID.bool:
      return text === 't' ? 'true' : 'false'
    case OID.int2:
    case OID.int4:
      return String(Number.parseInt(text, 10))
    case OID.float4:
    case OID.float8: {
      const number = Number(text)
      // NaN and ±Infinity have no JSON form; Neon keeps them as strings.
      return Number.isFinite(number) ? JSON.stringify(number) : JSON.stringify(text)
    }
    case OID.json:
    case OID.jsonb:
      // Already JSON text: embedding it verbatim keeps big numbers exact.
      return text
    default:
      return JSON.stringify(text)
  }
}

/**
 * Parses Postgres' array output (`{1,2}`, `{{"a b",NULL}}`, `[0:1]={…}`) into a JSON array, converting elements
 * by the element type. Like Neon it assumes `,` as the delimiter and drops explicit bounds.
 */
function arrayTextToJson(text: string, element: number, arrayElements: Map<number, number | null>): string {
  let i = 0
  if (text.startsWith('[')) {
    const equals = text.indexOf('=')
    if (equals < 0) throw new Error('unbalanced array')
    i = equals + 1
  }
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text.charAt(i))) i++
  }
  const parseArray = (): string => {
    skipSpace()
    if (text.charAt(i) !== '{') throw new Error('unbalanced array')
    i++
    const items: string[] = []
    skipSpace()
    if (text.charAt(i) === '}') {
      i++
      return '[]'
    }
    for (;;) {
      skipSpace()
      const c = text.charAt(i)
      if (c === '{') {
        items.push(parseArray())
      } else if (c === '"') {
        i++
        let value = ''
        for (;;) {
          if (i >= text.length) throw new Error('unbalanced quoted string')
          const ch = text.charAt(i++)
          if (ch === '"') break
          value += ch === '\\' ? text.charAt(i++) : ch
        }
        items.push(textToJson(value, element, arrayElements))
      } else {
        let end = i
        while (end < text.length && text.charAt(end) !== ',' && text.charAt(end) !== '}') end++
        if (end >= text.length) throw new Error('unbalanced array')
        const item = text.slice(i, end).trimEnd()
        i = end
        items.push(item === 'NULL' ? 'null' : textToJson(item, element, arrayElements))
      }
      skipSpace()
      if (text.charAt(i) === ',') {
        i++
        continue
      }
      if (text.charAt(i) !== '}') throw new Error('unbalanced array')
      i++
      return `[${items.join(',')}]`
    }
  }
  const json = parseArray()
  skipSpace()
  if (i !== text.length) throw new Error('unbalanced array')
  return json
}

/**
 * Serialises one result in Neon's key order: `rowAsArray`, `fields`, `rows`, `command`, `rowCount`. Rows are
 * written by hand so raw JSON (json/jsonb in non-raw mode) can be embedded verbatim.
 */
function serializeResult(
  result: QueryArrayResult<(string | null)[]>,
  arrayMode: boolean,
  rawOutput: boolean,
  arrayElements: Map<number, number | null>,
): string {
  const fields: FieldDef[] = result.fields ?? []
  const fieldsJson = JSON.stringify(
    fields.map((field) => ({
      name: field.name,
      dataTypeID: field.dataTypeID,
      tableID: field.tableID,
      columnID: field.columnID,
      dataTypeSize: field.dataTypeSize,
      dataTypeModifier: field.dataTypeModifier,
      format: 'text',
    })),
  )
  const names = fields.map((field) => JSON.stringify(field.name))
  const encode = (value: string | null, column: number): string => {
    if (value === null) return 'null'
    if (rawOutput) return JSON.stringify(value)
    return textToJson(value, fields[column]?.dataTypeID ?? 0, arrayElements)
  }
  const rows = result.rows.map((row) =>
    arrayMode
      ? `[${row.map(encode).join(',')}]`
      : `{${row.map((value, column) => `${names[column]}:${encode(value, column)}`).join(',')}}`,
  )
  // pg parses the command tag like Neon does: "INSERT 0 5" → INSERT/5, "CREATE TABLE" → CREATE/null.
  const command = JSON.stringify(result.command ?? '')
  const rowCount = result.rowCount ?? null
  return `{"rowAsArray":${arrayMode},"fields":${fieldsJson},"rows":[${rows.join(',')}],"command":${command},"rowCount":${rowCount}}`
}

// ---------------------------------------------------------------------------------------------------------------
// The proxy
// ---------------------------------------------------------------------------------------------------------------

/**
 * Starts the local Neon stand-in (WebSocket tunnel at `/v1?address=host:port`, SQL over HTTP at `POST /sql`).
 *
 * @example
 * ```ts
 * const proxy = await startNeonProxy({ port: 0 })
 * neonConfig.wsProxy = (host, port) => `127.0.0.1:${proxy.port}/v1?address=${host}:${port}`
 * neonConfig.fetchEndpoint = () => `http://127.0.0.1:${proxy.port}/sql`
 * // … useSecureWebSocket = false, pipelineTLS = false, pipelineConnect = false
 * await proxy.close()
 * ```
 */
export async function startNeonProxy(opts: NeonProxyOptions = {}): Promise<NeonProxy> {
  const allowed = new Set<string>()
  for (const entry of opts.allowedTargets ?? DEFAULT_ALLOWED_TARGETS) {
    const target = parseTarget(entry.trim())
    if (!target) throw new Error(`neon-proxy: invalid allowedTargets entry "${entry}" (expected host:port)`)
    allowed.add(target.key)
  }
  const describeAllowed = () => [...allowed].join(', ')

  const pools = new Map<string, PoolEntry>()
  const ledger = new TripLedger()
  const neonStats = (counts: TripCounts): NeonStats => ({
    requests: counts.requests,
    statements: counts.units,
    rows: counts.rows,
    roundTrips: counts.roundTrips,
    spans: counts.spans,
  })
  /** The accounts a client's traffic is counted in: the total, and its tag's when it has one. */
  const accountsFor = (tag: string | undefined): TripAccount[] =>
    tag === undefined ? [ledger.total] : [ledger.total, ledger.account(tag)]
  const tunnels = new Set<{ ws: WebSocket; tcp: Socket }>()
  let closing = false
  let down: boolean | 'tunnels' = false
  const setDown = (value: boolean | 'tunnels') => {
    down = value
    if (!value) return
    for (const { ws, tcp } of tunnels) {
      tcp.destroy()
      ws.terminate()
    }
    tunnels.clear()
  }

  /** Returns the pool for these parameters, most recently used last in `pools` (a cheap LRU). */
  function poolFor(params: ConnectionParams): PoolEntry {
    const key = JSON.stringify([
      params.target.key,
      params.user,
      params.password,
      params.database,
      params.applicationName,
      params.options,
    ])
    let entry = pools.get(key)
    if (entry) {
      pools.delete(key)
      pools.set(key, entry)
      return entry
    }
    const pool = new Pool({
      host: params.target.host,
      port: params.target.port,
      user: params.user,
      password: params.password,
      database: params.database,
      application_name: params.applicationName,
      options: params.options,
      max: POOL_MAX_CONNECTIONS,
      idleTimeoutMillis: 30_000,
      types: rawTextTypes,
    })
    // An idle pooled connection can die (database dropped, server restarted); pg reports it here and removes the
    // connection itself. Without a listener the error would crash the process.
    pool.on('error', () => {})
    entry = { pool, arrayElements: new Map() }
    pools.set(key, entry)
    if (pools.size > MAX_POOLS) {
      const [oldestKey, oldest] = pools.entries().next().value as [string, PoolEntry]
      pools.delete(oldestKey)
      void oldest.pool.end().catch(() => {})
    }
    return entry
  }

  /** Looks up OIDs not yet seen in this database, so non-raw output knows which columns are arrays. */
  async function learnTypes(client: PoolClient, entry: PoolEntry, fields: FieldDef[]): Promise<void> {
    const unknown = [...new Set(fields.map((f) => f.dataTypeID))].filter(
      (oid) => !entry.arrayElements.has(oid),
    )
    if (unknown.length === 0) return
    const result = await client.query<(string | null)[]>({
      text: "select oid::int4, case when typcategory = 'A' then typelem::int4 end from pg_type where oid = any($1::oid[])",
      values: [`{${unknown.join(',')}}`],
      rowMode: 'array',
    })
    for (const oid of unknown) entry.arrayElements.set(oid, null)
    for (const [oid, element] of result.rows) {
      entry.arrayElements.set(Number(oid), element === null || element === undefined ? null : Number(element))
    }
  }

  async function runStatement(
    client: PoolClient,
    entry: PoolEntry,
    statement: Statement,
    defaultArrayMode: boolean,
    rawOutput: boolean,
    accounts: TripAccount[],
  ): Promise<string> {
    // Neon runs every statement through the extended protocol (Parse/Bind/Execute), even without parameters, so
    // multi-statement strings fail with 42601 there. Forcing it here keeps local behaviour identical.
    const config: QueryArrayConfig<(string | null)[]> & { queryMode: 'extended' } = {
      text: statement.query,
      values: statement.params,
      rowMode: 'array',
      queryMode: 'extended',
    }
    const result = await client.query<(string | null)[]>(config)
    for (const account of accounts) {
      account.units++
      account.rows += result.rows.length
    }
    if (!rawOutput) await learnTypes(client, entry, result.fields)
    return serializeResult(result, statement.arrayMode ?? defaultArrayMode, rawOutput, entry.arrayElements)
  }

  /** Executes the payload and returns the JSON body plus extra response headers. */
  async function execute(
    req: IncomingMessage,
    payload: Statement | Statement[],
    accounts: TripAccount[],
  ): Promise<{ body: string; headers: Record<string, string> }> {
    const header = (name: string) => {
      const value = req.headers[name]
      return Array.isArray(value) ? value[0] : value
    }
    // Neon treats anything but the exact string "true" as false.
    const rawOutput = header(HEADER.rawTextOutput) === 'true'
    const defaultArrayMode = header(HEADER.arrayMode) === 'true'
    const isolationHeader = header(HEADER.isolationLevel)
    const isolationLevel = isolationHeader === undefined ? undefined : ISOLATION_LEVELS[isolationHeader]
    if (isolationHeader !== undefined && isolationLevel === undefined) {
      throw new HttpError(400, 'invalid isolation level')
    }
    const readOnly = header(HEADER.readOnly) === 'true'
    const deferrable = header(HEADER.deferrable) === 'true'

    const params = parseConnectionString(header(HEADER.connectionString))
    if (!allowed.has(params.target.key)) {
      throw new HttpError(
        400,
        `connection target ${params.target.key} is not allowed by the local Neon proxy (allowed: ${describeAllowed()})`,
      )
    }
    // The Authorization header (JWT auth for Neon RLS) is accepted but not verified: plain Postgres has no
    // pg_session_jwt, so there is nothing local to hand the claims to.
    const entry = poolFor(down === true ? { ...params, target: UNREACHABLE } : params)
    let client: PoolClient
    try {
      client = await entry.pool.connect()
    } catch (err) {
      if (err instanceof DatabaseError) throw err
      throw new HttpError(
        500,
        `could not connect to Postgres at ${params.target.key}: ${(err as Error).message}`,
      )
    }

    // A connection goes back to the pool only when it is known to be idle and healthy; Neon discards the rest.
    let reusable = false
    try {
      if (!Array.isArray(payload)) {
        try {
          const body = await runStatement(client, entry, payload, defaultArrayMode, rawOutput, accounts)
          reusable = client.getTransactionStatus() === 'I'
          return { body, headers: {} }
        } catch (err) {
          // A failed statement on an idle connection leaves it idle; other failures (I/O) leave it unusable.
          reusable = err instanceof DatabaseError
          throw err
        }
      }

      const modes = [
        isolationLevel && `ISOLATION LEVEL ${isolationLevel}`,
        readOnly && 'READ ONLY',
        deferrable && 'DEFERRABLE',
      ].filter(Boolean)
      await client.query(`BEGIN${modes.length > 0 ? ` ${modes.join(', ')}` : ''}`)
      const results: string[] = []
      try {
        for (const statement of payload) {
          results.push(await runStatement(client, entry, statement, defaultArrayMode, rawOutput, accounts))
        }
        await client.query('COMMIT')
      } catch (err) {
        // ROLLBACK is harmless after a failed COMMIT (the transaction is already gone; Postgres only warns).
        await client.query('ROLLBACK').catch(() => {})
        reusable = client.getTransactionStatus() === 'I'
        throw err
      }
      reusable = client.getTransactionStatus() === 'I'
      // Neon echoes the transaction settings it applied.
      const headers: Record<string, string> = {}
      if (readOnly) headers['Neon-Batch-Read-Only'] = 'true'
      if (deferrable) headers['Neon-Batch-Deferrable'] = 'true'
      if (isolationHeader !== undefined) headers['Neon-Batch-Isolation-Level'] = isolationHeader
      return { body: `{"results":[${results.join(',')}]}`, headers }
    } finally {
      client.release(!reusable)
    }
  }

  function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'Access-Control-Allow-Origin': '*',
      ...headers,
    })
    res.end(body)
  }

  function sendError(res: ServerResponse, err: unknown) {
    if (err instanceof DatabaseError) return send(res, 400, JSON.stringify(errorBody(err.message, err)))
    if (err instanceof HttpError) return send(res, err.status, JSON.stringify(errorBody(err.message)))
    return send(res, 500, JSON.stringify(errorBody(`local Neon proxy error: ${(err as Error).message}`)))
  }

  /** Reads the request body (event-based: measurably cheaper per request than `for await` on the stream). */
  function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      let size = 0
      req.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_REQUEST_BYTES) {
          // Stop reading and drop the connection after answering: the rest of the body is not wanted.
          res.setHeader('Connection', 'close')
          req.pause()
          reject(new HttpError(413, `request is too large (max is ${MAX_REQUEST_BYTES} bytes)`))
          return
        }
        chunks.push(chunk)
      })
      req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)))
      req.on('error', reject)
    })
  }

  async function handleSql(req: IncomingMessage, res: ServerResponse, accounts: TripAccount[]) {
    const payload = parsePayload(await readBody(req, res))
    const { body, headers } = await execute(req, payload, accounts)
    if (Buffer.byteLength(body) > MAX_RESPONSE_BYTES) {
      throw new HttpError(507, `response is too large (max is ${MAX_RESPONSE_BYTES} bytes)`)
    }
    send(res, 200, body, headers)
  }

  /**
   * With `exposeStats`: answers `/__stats/<tag>` (returns 'answered'), or strips a leading `/__tag/<tag>` from
   * the URL and returns the tag.
   */
  function untag(req: IncomingMessage, res?: ServerResponse): string | 'answered' | undefined {
    if (!opts.exposeStats) return undefined
    const url = req.url ?? '/'
    const stats = STATS_PATTERN.exec(url)
    if (stats && res && req.method === 'GET') {
      req.resume()
      send(res, 200, JSON.stringify(neonStats(ledger.counts(stats[1]!))))
      return 'answered'
    }
    const tag = TAG_PATTERN.exec(url)
    if (!tag) return undefined
    req.url = url.slice(tag[0].length) || '/'
    return tag[1]!
  }

  const server = createServer((req, res) => {
    const tag = untag(req, res)
    if (tag === 'answered') return
    const path = (req.url ?? '/').split('?')[0]
    if (opts.outageControl && path === '/__outage' && req.method === 'POST') {
      req.resume()
      const value = new URL(req.url ?? '/', 'http://proxy.local').searchParams.get('down')
      setDown(value === 'tunnels' ? 'tunnels' : value === '1')
      return send(res, 200, JSON.stringify({ down }))
    }
    if (path !== '/sql') return send(res, 404, JSON.stringify({ message: 'not found' }))
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': '*',
        'Access-Control-Max-Age': '86400',
      })
      return res.end()
    }
    if (req.method !== 'POST') return send(res, 405, JSON.stringify({ message: 'method not allowed' }))
    const accounts = accountsFor(tag)
    const ends = accounts.map((account) => {
      account.requests++
      return account.begin()
    })
    res.once('close', () => ends.forEach((end) => end()))
    handleSql(req, res, accounts).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, err)
      else res.destroy()
    })
  })
  // Keep-alive sockets make most round trips; disable Nagle so small responses leave at once.
  server.on('connection', (socket: Socket) => socket.setNoDelay(true))
  server.on('clientError', (_err, socket) => socket.destroy())

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })

  function refuseUpgrade(socket: Duplex, status: number, reason: string, message: string) {
    const body = `${message}\n`
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    const tag = untag(req)
    const url = new URL(req.url ?? '/', 'http://proxy.local')
    if (url.pathname !== '/v1') return refuseUpgrade(socket, 404, 'Not Found', 'unknown path')
    const address = url.searchParams.get('address')
    const target = address === null ? undefined : parseTarget(address)
    if (!target) return refuseUpgrade(socket, 400, 'Bad Request', 'expected ?address=host:port')
    if (!allowed.has(target.key)) {
      return refuseUpgrade(
        socket,
        403,
        'Forbidden',
        `target ${target.key} is not allowed (allowed: ${describeAllowed()})`,
      )
    }
    if (closing) return refuseUpgrade(socket, 503, 'Service Unavailable', 'proxy is closing')
    if (socket instanceof Socket) socket.setNoDelay(true)
    // Dial Postgres while the upgrade completes: net.Socket queues writes until connected, so the driver's
    // startup message sent right after `open` is not lost and the dial costs no extra round trip.
    const dialled = down ? UNREACHABLE : target
    const tcp = tcpConnect({ host: dialled.host, port: dialled.port, noDelay: true })
    tcp.on('error', () => {})
    // If ws rejects the handshake (bad WebSocket headers) it destroys the socket without calling back.
    const abandon = () => tcp.destroy()
    socket.once('close', abandon)
    // The upgrade is a round trip of its own: the client waits for the 101 before it sends the startup message.
    const accounts = accountsFor(tag)
    const ends = accounts.map((account) => {
      account.requests++
      return account.begin()
    })
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('close', abandon)
      ends.forEach((end) => end())
      tunnel(ws, tcp, accounts)
    })
  })

  function tunnel(ws: WebSocket, tcp: Socket, accounts: TripAccount[]) {
    const pair = { ws, tcp }
    tunnels.add(pair)
    const turns = new TunnelTurns(accounts)

    ws.on('message', (data: RawData) => {
      // Frames arrive as Buffers (ws' default binaryType); fragmented messages as an array of them.
      const chunks = Array.isArray(data) ? data : [Buffer.isBuffer(data) ? data : Buffer.from(data)]
      for (const chunk of chunks) turns.fromClient(chunk)
      let flushed = true
      for (const chunk of chunks) flushed = tcp.write(chunk) && flushed
      // Back-pressure towards the client: stop reading frames until Postgres has taken what we queued.
      if (!flushed && !ws.isPaused) {
        ws.pause()
        tcp.once('drain', () => ws.resume())
      }
    })

    let queued = 0
    tcp.on('data', (chunk: Buffer) => {
      if (ws.readyState !== ws.OPEN) return
      turns.fromServer(chunk)
      queued += chunk.length
      ws.send(chunk, { binary: true }, () => {
        queued -= chunk.length
        if (queued < WS_HIGH_WATER_MARK && tcp.isPaused()) tcp.resume()
      })
      if (queued >= WS_HIGH_WATER_MARK) tcp.pause()
    })

    // Postgres closed (or never opened): close the WebSocket; 1011 tells the client it was not a clean end.
    tcp.on('error', (err: NodeJS.ErrnoException) => {
      if (ws.readyState === ws.OPEN) ws.close(1011, (err.code ?? 'tcp error').slice(0, 120))
    })
    tcp.on('close', () => {
      tunnels.delete(pair)
      if (ws.readyState === ws.OPEN) ws.close(1000)
      else if (ws.readyState === ws.CONNECTING) ws.terminate()
    })

    // The client closed: half-close towards Postgres so bytes already written (Terminate) still arrive, and make
    // sure the socket goes away even if the server never answers the FIN.
    ws.on('close', () => {
      if (!tcp.destroyed) {
        tcp.end()
        setTimeout(() => tcp.destroy(), 5_000).unref()
      }
    })
    ws.on('error', () => tcp.destroy())
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('neon-proxy: no TCP address bound')

  return {
    port: address.port,
    setDown,
    stats: (tag) => neonStats(tag === undefined ? ledger.total.snapshot() : ledger.counts(tag)),
    async close() {
      if (closing) return
      closing = true
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const { ws, tcp } of tunnels) {
        ws.terminate()
        tcp.destroy()
      }
      tunnels.clear()
      server.closeAllConnections()
      await Promise.all([stopped, ...[...pools.values()].map((entry) => entry.pool.end().catch(() => {}))])
      pools.clear()
    },
  }
}

/**
 * Reads the Postgres wire protocol passing through a tunnel, as far as accounting needs: statements the client
 * runs (simple queries and Executes), rows the server returns, and round trips. A round trip starts when the
 * client sends something that expects an answer and ends at the server's ReadyForQuery — the point where the
 * driver may send its next query — or at the one-byte answer to an SSL request. A lone Terminate expects nothing
 * and starts none.
 */
class TunnelTurns {
  private readonly client = new MessageScanner()
  private readonly server = new MessageScanner()
  private ends: (() => void)[] | undefined

  constructor(private readonly accounts: TripAccount[]) {
    this.client.untyped = true
  }

  fromClient(chunk: Buffer): void {
    let expectsAnswer = false
    for (const type of this.client.push(chunk)) {
      if (type === 'Q' || type === 'E') for (const account of this.accounts) account.units++
      if (type === 'ssl') this.server.singleBytes++
      if (type !== 'X') expectsAnswer = true
    }
    if (expectsAnswer && !this.ends) this.ends = this.accounts.map((account) => account.begin())
  }

  fromServer(chunk: Buffer): void {
    for (const type of this.server.push(chunk)) {
      if (type === 'D') for (const account of this.accounts) account.rows++
      if ((type === 'Z' || type === 'ssl-answer') && this.ends) {
        this.ends.forEach((end) => end())
        this.ends = undefined
      }
    }
  }
}

/**
 * Splits a byte stream into Postgres protocol messages and yields their type bytes. A client's first message
 * has no type byte: it is reported as 'startup', or 'ssl' for an SSL/GSS encryption request, which the server
 * answers with one bare byte ('ssl-answer'). After a 'S'/'G' answer the stream is encrypted and no longer read.
 */
class MessageScanner {
  untyped = false
  singleBytes = 0
  private pending = Buffer.alloc(0)
  private opaque = false

  push(chunk: Buffer): string[] {
    const types: string[] = []
    if (this.opaque) return types
    const buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    let offset = 0
    for (;;) {
      if (this.singleBytes > 0) {
        if (buffer.length - offset < 1) break
        const answer = String.fromCharCode(buffer[offset]!)
        offset += 1
        this.singleBytes--
        types.push('ssl-answer')
        if (answer !== 'N') {
          this.opaque = true
          return types
        }
        continue
      }
      if (this.untyped) {
        if (buffer.length - offset < 4) break
        const length = buffer.readInt32BE(offset)
        if (buffer.length - offset < length) break
        const code = length >= 8 ? buffer.readInt32BE(offset + 4) : 0
        offset += length
        // SSLRequest and GSSENCRequest are followed, once answered with 'N', by the real startup message.
        if (code === 80877103 || code === 80877104) {
          types.push('ssl')
          continue
        }
        this.untyped = false
        types.push('startup')
        continue
      }
      if (buffer.length - offset < 5) break
      const length = buffer.readInt32BE(offset + 1)
      if (buffer.length - offset < 1 + length) break
      const type = String.fromCharCode(buffer[offset]!)
      offset += 1 + length
      types.push(type)
    }
    this.pending = offset === buffer.length ? Buffer.alloc(0) : Buffer.from(buffer.subarray(offset))
    return types
  }
}
