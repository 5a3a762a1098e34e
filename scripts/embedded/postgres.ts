/**
 * Embedded Postgres for `npm run dev` when DATABASE_URL is not configured:
 * PGlite (Postgres 18 compiled to WASM, running in this process) persisted in `dataDir`, served over the Postgres
 * wire protocol on 127.0.0.1 so that `pg`, drizzle and the Neon stand-in's WS→TCP tunnel reach it like a server.
 *
 * PGlite is one backend: one session, one transaction at a time. The server multiplexes connections onto it by
 * giving one connection at a time the session, from its first message until the backend reports ReadyForQuery
 * "idle" (status I) with nothing of that connection left to run. A connection that opens a transaction therefore
 * keeps everyone else waiting until it commits or rolls back — never hold a transaction open while awaiting
 * another connection (a warning is printed when a connection waits long for one that sits in a transaction).
 *
 * Why not PGLiteSocketServer from @electric-sql/pglite-socket 0.2.17: its multiplexer queues each protocol
 * message separately and lets another connection's messages in between unless an explicit transaction is open.
 * When an extended-query batch (Parse/Bind/Execute/Sync) arrives in more than one TCP segment — as through a
 * WebSocket tunnel, where every message can be its own frame — a second client's Sync destroys the first client's
 * unnamed portal ("portal "" does not exist") or its Bind lands on the other client's statement. Reproduced with
 * raw sockets against it; test/embedded/embedded.node.test.ts covers the case for this server.
 *
 * What a connection here shares with the others, because it is the same session underneath:
 * - Named prepared statements are the exception: their names are prefixed per connection in Parse, Bind,
 *   Describe and Close, so two pooled connections can both prepare "getUser", and they are closed when the
 *   connection ends. SQL-level PREPARE/EXECUTE/DEALLOCATE are not rewritten.
 * - Session settings (SET …), temporary tables, advisory locks and LISTEN registrations are shared; a NOTIFY is
 *   delivered to whichever connection is running at the time. Do not rely on them.
 * - Authentication is trust: any user name and password is accepted. There is no TLS (SSLRequest is answered "N").
 * - CancelRequest is not supported (the connection asking for it is closed; the query runs to completion).
 * - COPY … FROM STDIN is refused with an error: PGlite 0.5.14 terminates the whole Node process on it.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { type Extensions, PGlite } from '@electric-sql/pglite'
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist'
import { citext } from '@electric-sql/pglite/contrib/citext'
import { cube } from '@electric-sql/pglite/contrib/cube'
import { earthdistance } from '@electric-sql/pglite/contrib/earthdistance'
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm'
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto'
import { uuid_ossp } from '@electric-sql/pglite/contrib/uuid_ossp'

export interface EmbeddedPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string
  port: number
  stop(): Promise<void>
}

export interface EmbeddedPostgresOptions {
  /** PGlite data directory, e.g. .data/pglite; created (initdb) on first start. */
  dataDir: string
  /** 0 or omitted = a free port. */
  port?: number
  /**
   * Connections accepted at once (default 100). Set it to at least the sum of all pool sizes; more connections
   * cost nothing but a socket, since they are served one at a time anyway.
   */
  maxConnections?: number
  /** Extensions PGlite makes available to CREATE EXTENSION (default EMBEDDED_POSTGRES_EXTENSIONS). */
  extensions?: Extensions
}

/**
 * Contrib extensions available to `CREATE EXTENSION` by default: the ones Neon also offers,
 * Debian's PostgreSQL 15 contrib and PGlite alike (pgvector and PostGIS are not). PGlite loads an extension's files
 * at startup only when it is listed, ~20-30 ms each; pass `extensions` for others PGlite 0.5 ships
 * (`@electric-sql/pglite/contrib/<name>`: amcheck, auto_explain, bloom, btree_gin, dict_int, dict_xsyn, file_fdw,
 * fuzzystrmatch, hstore, intarray, isn, lo, ltree, pageinspect, pg_buffercache, pg_freespacemap,
 * pg_stat_statements, pg_surgery, pg_visibility, pg_walinspect, seg, tablefunc, tcn, tsm_system_rows,
 * tsm_system_time, unaccent).
 */
export const EMBEDDED_POSTGRES_EXTENSIONS = {
  btree_gist,
  citext,
  cube,
  earthdistance,
  pg_trgm,
  pgcrypto,
  uuid_ossp,
} satisfies Extensions

const PROTOCOL_3 = 196608
const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102
/** Startup packets are small; anything larger is garbage, as Postgres itself decides. */
const MAX_STARTUP_PACKET = 10_000
const SLOW_WAIT_WARNING_MS = 10_000
const COPY_FROM_STDIN = /\bcopy\b[^;]*?\bfrom\s+stdin\b/i
const COPY_REFUSAL =
  "DO $embedded$ BEGIN RAISE EXCEPTION 'COPY FROM STDIN is not supported by the embedded PGlite server' " +
  "USING ERRCODE = 'feature_not_supported'; END $embedded$"

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(opts.dataDir)
  mkdirSync(path.dirname(dataDir), { recursive: true })
  const releaseLock = acquireDirectoryLock(`${dataDir}.lock`, dataDir)
  let db: PGlite | undefined
  try {
    db = await PGlite.create({ dataDir, extensions: opts.extensions ?? EMBEDDED_POSTGRES_EXTENSIONS })
    const server = new WireServer(db, opts.maxConnections ?? 100)
    const port = await server.listen(opts.port ?? 0)
    const openDb = db
    let stopping: Promise<void> | undefined
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port,
      stop: () => {
        stopping ??= (async () => {
          try {
            await server.close()
            await openDb.close()
          } finally {
            releaseLock()
          }
        })()
        return stopping
      },
    }
  } catch (error) {
    await db?.close().catch(() => {})
    releaseLock()
    throw error
  }
}

/** Data directories this process serves; a lock file naming our pid but missing here is left from a crash. */
const lockedHere = new Set<string>()

/**
 * PGlite keeps no lock of its own in the data directory, and two processes writing it would corrupt it (a second
 * `npm run dev`, a test run pointing at .data). A sibling lock file holds the owner's pid; a stale one (owner gone,
 * or our own pid reused after a crash, common in containers) is taken over.
 */
function acquireDirectoryLock(lockFile: string, dataDir: string): () => void {
  if (lockedHere.has(dataDir)) throw new Error(`${dataDir} is already served by this process`)
  for (let attempt = 0; attempt < 2; attempt++) {
    if (createLockFile(lockFile)) {
      lockedHere.add(dataDir)
      let released = false
      return () => {
        if (!released) {
          rmSync(lockFile, { force: true })
          lockedHere.delete(dataDir)
        }
        released = true
      }
    }
    const owner = Number(readFileSync(lockFile, 'utf8').trim())
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new Error(
        `${dataDir} is in use by process ${owner} (another \`npm run dev\`?). Stop it, or delete ${lockFile} ` +
          'if that process is something else.',
      )
    }
    rmSync(lockFile, { force: true })
  }
  throw new Error(`could not lock ${dataDir}`)
}

/** Creates the lock file with our pid; false if it already exists. */
function createLockFile(lockFile: string): boolean {
  let fd: number
  try {
    fd = openSync(lockFile, 'wx')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
  writeSync(fd, String(process.pid))
  closeSync(fd)
  return true
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Hands the single PGlite session to one connection at a time, in arrival order. */
class SessionLock {
  owner: Connection | undefined
  private readonly waiting: { connection: Connection; grant: () => void }[] = []

  acquire(connection: Connection): Promise<void> {
    if (this.owner === connection) return Promise.resolve()
    if (!this.owner) {
      this.owner = connection
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const holder = this.owner
      const timer = setTimeout(() => {
        if (this.owner === holder && holder && !holder.idle) {
          console.warn(
            `[embedded-postgres] connection #${connection.id} has waited ${SLOW_WAIT_WARNING_MS / 1000} s for ` +
              `connection #${holder.id}, which is inside a transaction. PGlite runs one session: code that keeps ` +
              'a transaction open while waiting for another connection deadlocks here.',
          )
        }
      }, SLOW_WAIT_WARNING_MS)
      timer.unref()
      this.waiting.push({
        connection,
        grant: () => {
          clearTimeout(timer)
          resolve()
        },
      })
    })
  }

  release(connection: Connection): void {
    if (this.owner !== connection) return
    const next = this.waiting.shift()
    this.owner = next?.connection
    next?.grant()
  }
}

class WireServer {
  private readonly server: net.Server
  private readonly connections = new Set<Connection>()
  readonly lock = new SessionLock()
  private nextId = 1
  private accepted = 0

  constructor(
    readonly db: PGlite,
    private readonly maxConnections: number,
  ) {
    this.server = net.createServer((socket) => {
      const connection = new Connection(this, socket, this.nextId++)
      this.connections.add(connection)
      void connection.done.then(() => this.connections.delete(connection))
    })
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject)
        resolve((this.server.address() as net.AddressInfo).port)
      })
    })
  }

  /** Counts a connection that completed its startup; false when the limit is reached. */
  admit(): boolean {
    if (this.accepted >= this.maxConnections) return false
    this.accepted++
    return true
  }

  leave(): void {
    this.accepted--
  }

  get limit(): number {
    return this.maxConnections
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const connection of this.connections) connection.destroy()
    // Each connection rolls back and releases the session before PGlite may be closed.
    await Promise.all([...this.connections].map((connection) => connection.done))
    await closed
  }
}

type Phase = 'startup' | 'ready' | 'closed'

class Connection {
  /** Resolves once the socket is gone and the session is cleaned up after it. */
  readonly done: Promise<void>
  /** Whether PGlite's last reply to this connection was ReadyForQuery with status I (idle, no transaction). */
  idle = true
  private phase: Phase = 'startup'
  private admitted = false
  private inbox: Buffer = Buffer.alloc(0)
  private readonly pending: Buffer[] = []
  private pumping = false
  private terminated = false
  private closed = false
  private markDone!: () => void
  private readonly statementPrefix: string
  private readonly statements = new Set<string>()
  /** Reply scanner state: bytes of the current message header still being collected, and body bytes to skip. */
  private replyHeader: Buffer = Buffer.alloc(0)
  private replyBodyLeft = 0
  private replyType = 0
  private readyStatus = 0

  constructor(
    private readonly server: WireServer,
    private readonly socket: net.Socket,
    readonly id: number,
  ) {
    this.statementPrefix = `embedded_c${id}_`
    this.done = new Promise((resolve) => {
      this.markDone = resolve
    })
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('error', () => {}) // 'close' follows; a reset by the client is not our error
    socket.on('close', () => {
      this.closed = true
      this.pump()
    })
  }

  destroy(): void {
    this.socket.destroy()
  }

  /** False once Terminate arrived or the connection was refused: later input is ignored. */
  private get reading(): boolean {
    return this.phase !== 'closed'
  }

  private receive(chunk: Buffer): void {
    if (!this.reading) return
    this.inbox = this.inbox.length === 0 ? chunk : Buffer.concat([this.inbox, chunk])
    while (this.reading) {
      if (this.phase === 'startup') {
        if (this.inbox.length < 8) break
        const length = this.inbox.readInt32BE(0)
        if (length < 8 || length > MAX_STARTUP_PACKET)
          return this.reject('08P01', 'invalid startup packet length')
        if (this.inbox.length < length) break
        const packet = this.inbox.subarray(0, length)
        this.inbox = this.inbox.subarray(length)
        const code = packet.readInt32BE(4)
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.socket.write('N')
        } else if (code === CANCEL_REQUEST) {
          this.socket.destroy()
          return
        } else {
          if (code >> 16 !== PROTOCOL_3 >> 16) {
            return this.reject('0A000', `unsupported frontend protocol ${code >> 16}.${code & 0xffff}`)
          }
          if (!this.server.admit()) {
            return this.reject(
              '53300',
              `sorry, too many clients already (maxConnections=${this.server.limit})`,
            )
          }
          this.admitted = true
          this.phase = 'ready'
          this.pending.push(Buffer.from(packet))
        }
      } else {
        if (this.inbox.length < 5) break
        const length = this.inbox.readInt32BE(1)
        if (length < 4) return this.reject('08P01', 'invalid message length')
        if (this.inbox.length < length + 1) break
        const message = Buffer.from(this.inbox.subarray(0, length + 1))
        this.inbox = this.inbox.subarray(length + 1)
        if (message[0] === 0x58 /* X: Terminate */) {
          this.terminated = true
          this.phase = 'closed'
          break
        }
        this.pending.push(this.rewrite(message))
      }
    }
    this.pump()
  }

  /** Sends a FATAL error as Postgres would and hangs up. */
  private reject(code: string, message: string): void {
    this.phase = 'closed'
    this.socket.end(errorResponse('FATAL', code, message))
  }

  /**
   * Runs what this connection has sent, in order, one batch at a time while holding the session; releases the
   * session whenever the backend is idle again and nothing of ours is left. After the socket closes, cleans up.
   */
  private pump(): void {
    if (this.pumping) return
    this.pumping = true
    void this.drain()
      .catch((error: unknown) => {
        console.error(`[embedded-postgres] connection #${this.id} failed:`, error)
        this.socket.destroy()
      })
      .finally(() => {
        this.pumping = false
        // After Terminate, what came before it still runs; after the socket is gone, nothing more does.
        if (this.closed || (this.terminated && this.pending.length === 0)) void this.finish()
        else if (this.pending.length > 0) this.pump()
      })
  }

  private async drain(): Promise<void> {
    const { lock } = this.server
    while (this.pending.length > 0 && !this.closed) {
      await lock.acquire(this)
      if (this.closed) break // finish() cleans up and releases
      const batch = Buffer.concat(this.pending.splice(0))
      await this.run(batch, (reply) => {
        if (!this.socket.destroyed) this.socket.write(reply)
      })
      if (this.idle && this.pending.length === 0) lock.release(this)
    }
  }

  private finishing: Promise<void> | undefined

  /** Leaves the shared session as a fresh connection would find it, then lets the next connection in. */
  private finish(): Promise<void> {
    this.finishing ??= (async () => {
      this.pending.length = 0
      const { lock } = this.server
      try {
        if (this.admitted && (!this.idle || this.statements.size > 0 || lock.owner === this)) {
          await lock.acquire(this)
          // Sync ends an unfinished extended-query batch (and its error state); then statements and transaction.
          const closes = [...this.statements].map((name) =>
            message('C', Buffer.concat([Buffer.from('S'), cstring(this.statementName(name))])),
          )
          await this.run(Buffer.concat([message('S'), ...closes, message('S')]), () => {})
          if (this.server.db.isInTransaction()) await this.run(message('Q', cstring('ROLLBACK')), () => {})
        }
      } catch (error) {
        console.error(`[embedded-postgres] cleaning up after connection #${this.id} failed:`, error)
      } finally {
        lock.release(this)
        if (this.admitted) this.server.leave()
        this.admitted = false
        this.socket.destroy()
        this.markDone()
      }
    })()
    return this.finishing
  }

  /** Feeds protocol messages to PGlite and tracks whether its replies end with ReadyForQuery(I). */
  private async run(input: Buffer, output: (reply: Buffer) => void): Promise<void> {
    const { db } = this.server
    await db.runExclusive(() =>
      db.execProtocolRawStream(new Uint8Array(input.buffer, input.byteOffset, input.byteLength), {
        onRawData: (chunk) => {
          // The chunk is a view into WASM memory that PGlite reuses: copy before it goes anywhere.
          const reply = Buffer.from(chunk)
          this.scanReplies(reply)
          output(reply)
        },
      }),
    )
    this.idle =
      this.replyHeader.length === 0 &&
      this.replyBodyLeft === 0 &&
      this.replyType === 0x5a &&
      this.readyStatus === 0x49
  }

  /** Walks reply message boundaries across chunks, remembering the last message type and ReadyForQuery status. */
  private scanReplies(chunk: Buffer): void {
    let offset = 0
    while (offset < chunk.length) {
      if (this.replyBodyLeft > 0) {
        if (this.replyType === 0x5a && this.replyHeader.length === 5) {
          this.readyStatus = chunk[offset] as number
          this.replyHeader = Buffer.alloc(0)
        }
        const skip = Math.min(this.replyBodyLeft, chunk.length - offset)
        offset += skip
        this.replyBodyLeft -= skip
        continue
      }
      const need = 5 - this.replyHeader.length
      const take = chunk.subarray(offset, offset + need)
      this.replyHeader = Buffer.concat([this.replyHeader, take])
      offset += take.length
      if (this.replyHeader.length === 5) {
        this.replyType = this.replyHeader[0] as number
        this.replyBodyLeft = this.replyHeader.readInt32BE(1) - 4
        // Keep the header of a ReadyForQuery until its status byte is read; drop any other at once.
        if (this.replyType !== 0x5a || this.replyBodyLeft === 0) this.replyHeader = Buffer.alloc(0)
      }
    }
  }

  /**
   * Per-connection names for prepared statements (they outlive transactions in the shared session), and the
   * COPY FROM STDIN guard for Query and Parse.
   */
  private rewrite(msg: Buffer): Buffer {
    const type = String.fromCharCode(msg[0] as number)
    const body = msg.subarray(5)
    if (type === 'Q') {
      return COPY_FROM_STDIN.test(body.toString('utf8')) ? message('Q', cstring(COPY_REFUSAL)) : msg
    }
    if (type === 'P') {
      const [name, afterName] = readCString(body, 0)
      const [sql, afterSql] = readCString(body, afterName)
      const query = COPY_FROM_STDIN.test(sql) ? COPY_REFUSAL : sql
      if (name === '' && query === sql) return msg
      if (name !== '') this.statements.add(name)
      return message(
        'P',
        Buffer.concat([cstring(this.statementName(name)), cstring(query), body.subarray(afterSql)]),
      )
    }
    if (type === 'B') {
      const [portal, afterPortal] = readCString(body, 0)
      const [statement, afterStatement] = readCString(body, afterPortal)
      if (statement === '') return msg
      const rest = body.subarray(afterStatement)
      return message('B', Buffer.concat([cstring(portal), cstring(this.statementName(statement)), rest]))
    }
    if ((type === 'D' || type === 'C') && body[0] === 0x53 /* S: statement */) {
      const [statement] = readCString(body, 1)
      if (statement === '') return msg
      if (type === 'C') this.statements.delete(statement)
      return message(type, Buffer.concat([Buffer.from('S'), cstring(this.statementName(statement))]))
    }
    return msg
  }

  private statementName(name: string): string {
    return name === '' ? '' : this.statementPrefix + name
  }
}

function cstring(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])])
}

function readCString(buffer: Buffer, offset: number): [string, number] {
  const end = buffer.indexOf(0, offset)
  const stop = end === -1 ? buffer.length : end
  return [buffer.subarray(offset, stop).toString('utf8'), stop + 1]
}

function message(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(5)
  header.write(type, 0, 'latin1')
  header.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([header, body])
}

function errorResponse(severity: string, code: string, text: string): Buffer {
  const field = (tag: string, value: string): Buffer => Buffer.concat([Buffer.from(tag), cstring(value)])
  return message(
    'E',
    Buffer.concat([
      field('S', severity),
      field('V', severity),
      field('C', code),
      field('M', text),
      Buffer.from([0]),
    ]),
  )
}
