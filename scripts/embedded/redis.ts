/**
 * Embedded Redis for `npm run dev` when REDIS_URL is not configured.
 *
 * - `redis-server` on PATH (the default choice): spawned on 127.0.0.1 and a free port, with RDB persistence under
 *   `dataDir` (`dump.rdb`; a snapshot after 60 s when something changed, and on stop, since SIGTERM makes Redis
 *   save), so dev data survives restarts the way the embedded Postgres data does. The child is stopped on stop()
 *   and on process exit; one orphaned by a hard kill of the previous run is recognised by its pid file and stopped
 *   before a new one starts.
 * - Otherwise an in-process implementation (scripts/embedded/memory-redis.ts) with Lua scripting, persisted as a
 *   JSON snapshot in `dataDir/in-process-redis.json`.
 *
 * Both hand back a `client` with the `RedisLike` surface the Upstash REST stand-in consumes
 * (scripts/local-stack/upstash-rest.ts). For redis-server it is an ioredis client using RESP2, whose replies have
 * exactly the shapes Upstash answers with; the in-process client mirrors ioredis' reply shapes.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { accessSync, constants, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { Redis } from 'ioredis'
import { InProcessRedis } from './memory-redis'
import { freePort } from '../free-port'

export { InProcessRedis } from './memory-redis'

export interface RedisLike {
  call(command: string, ...args: (string | Buffer | number)[]): Promise<unknown>
  multi(commands: (string | number | Buffer)[][]): { exec(): Promise<[Error | null, unknown][] | null> }
}

export interface EmbeddedRedisServer {
  kind: 'redis-server'
  /** redis://127.0.0.1:PORT */
  url: string
  port: number
  /** An ioredis client (RESP2) connected to the server. */
  client: Redis
  stop(): Promise<void>
}

export interface EmbeddedInProcessRedis {
  kind: 'in-process'
  url?: undefined
  client: InProcessRedis
  stop(): Promise<void>
}

export type EmbeddedRedis = EmbeddedRedisServer | EmbeddedInProcessRedis

export interface EmbeddedRedisOptions {
  /** Directory for dump.rdb / in-process-redis.json and the redis-server pid file; created if missing. */
  dataDir: string
  /** redis-server only: the port to listen on; 0 or omitted = a free one. */
  port?: number
  /** 'auto' (default): redis-server when on PATH, else in-process. */
  prefer?: 'auto' | 'redis-server' | 'in-process'
}

const STARTUP_TIMEOUT_MS = 10_000
const STOP_TIMEOUT_MS = 10_000
const PID_FILE = 'redis-server.pid'

export async function startEmbeddedRedis(opts: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const dataDir = path.resolve(opts.dataDir)
  mkdirSync(dataDir, { recursive: true })
  const prefer = opts.prefer ?? 'auto'
  const binary = prefer === 'in-process' ? undefined : findOnPath('redis-server')
  if (binary) return startRedisServer(binary, dataDir, opts.port ?? 0)
  if (prefer === 'redis-server') throw new Error('redis-server is not on PATH')
  const client = new InProcessRedis({ snapshotPath: path.join(dataDir, 'in-process-redis.json') })
  return { kind: 'in-process', client, stop: () => client.close() }
}

export function findOnPath(program: string): string | undefined {
  const extensions = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE').split(';') : ['']
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    for (const extension of extensions) {
      const candidate = path.join(dir, program + extension)
      try {
        accessSync(candidate, constants.X_OK)
        if (statSync(candidate).isFile()) return candidate
      } catch {
        // not here
      }
    }
  }
  return undefined
}

async function startRedisServer(
  binary: string,
  dataDir: string,
  requestedPort: number,
): Promise<EmbeddedRedisServer> {
  await stopOrphan(dataDir)
  // A free port is found by binding and releasing it, so another process can grab it in between; then
  // redis-server fails to bind and the next attempt picks another port.
  const attempts = requestedPort === 0 ? 3 : 1
  let lastError: unknown
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = requestedPort === 0 ? await freePort() : requestedPort
    try {
      return await launch(binary, dataDir, port)
    } catch (error) {
      lastError = error
      if (!(error instanceof PortInUseError)) throw error
    }
  }
  throw lastError
}

class PortInUseError extends Error {}

async function launch(binary: string, dataDir: string, port: number): Promise<EmbeddedRedisServer> {
  const args = [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--daemonize',
    'no',
    '--dir',
    dataDir,
    '--dbfilename',
    'dump.rdb',
    '--save',
    '60 1',
    '--appendonly',
    'no',
    // A failed background save (full disk) must not make a dev server refuse writes.
    '--stop-writes-on-bgsave-error',
    'no',
    '--loglevel',
    'warning',
  ]
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  const collect = (chunk: Buffer): void => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    output.splice(0, Math.max(0, output.length - 50))
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let spawnError: Error | undefined
  child.once('error', (error) => {
    spawnError = error
  })
  const killOnExit = (): void => {
    child.kill('SIGTERM')
  }
  process.once('exit', killOnExit)

  const abort = async (reason: string): Promise<never> => {
    process.off('exit', killOnExit)
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
    const log = output.join('\n')
    if (/address already in use/i.test(log)) throw new PortInUseError(`port ${port} is in use`)
    throw new Error(`redis-server ${reason}${log ? `:\n${log}` : ''}`)
  }

  const deadline = Date.now() + STARTUP_TIMEOUT_MS
  for (;;) {
    if (spawnError) return abort(`could not be started (${spawnError.message})`)
    if (child.exitCode !== null || child.signalCode !== null) return abort('exited during startup')
    if (await acceptsConnections(port)) break
    if (Date.now() > deadline) return abort(`did not listen on port ${port} within ${STARTUP_TIMEOUT_MS} ms`)
    await sleep(10)
  }

  const client = new Redis({ host: '127.0.0.1', port, protocol: 2, lazyConnect: true })
  // ioredis reports connection problems as 'error' events; unhandled ones would crash the dev server.
  client.on('error', () => {})
  try {
    await client.connect()
    // Make sure the port belongs to the child just spawned, not to a process that took it in between.
    const info = String(await client.call('info', 'server'))
    if (!info.includes(`process_id:${child.pid}\r`)) {
      client.disconnect()
      return abort(`port ${port} is answered by another Redis`)
    }
  } catch (error) {
    client.disconnect()
    return abort(`did not answer on port ${port} (${(error as Error).message})`)
  }
  writeFileSync(path.join(dataDir, PID_FILE), JSON.stringify({ pid: child.pid, port }))

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('exit', killOnExit)
      await client.quit().catch(() => client.disconnect())
      await terminate(child, exited)
      rmSync(path.join(dataDir, PID_FILE), { force: true })
    })()
    return stopping
  }
  return { kind: 'redis-server', url: `redis://127.0.0.1:${port}`, port, client, stop }
}

/** SIGTERM makes redis-server write dump.rdb (save points are configured) and exit; SIGKILL if it hangs. */
async function terminate(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
}

/**
 * A previous run killed without cleanup (SIGKILL, crash of the terminal) leaves its redis-server running and
 * saving into the same directory. Its pid file names it; the process is stopped only if it still looks like that
 * redis-server (Redis titles itself "redis-server 127.0.0.1:PORT"), so a recycled pid is never signalled.
 */
async function stopOrphan(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, PID_FILE)
  let recorded: { pid: number; port: number }
  try {
    recorded = JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number; port: number }
  } catch {
    return
  }
  const title = processTitle(recorded.pid)
  if (title !== undefined && title.includes('redis-server') && title.includes(`:${recorded.port}`)) {
    process.kill(recorded.pid, 'SIGTERM')
    const deadline = Date.now() + STOP_TIMEOUT_MS
    while (processTitle(recorded.pid) !== undefined && Date.now() < deadline) await sleep(20)
  }
  rmSync(pidFile, { force: true })
}

function processTitle(pid: number): string | undefined {
  try {
    process.kill(pid, 0)
  } catch {
    return undefined
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
  } catch {
    // No /proc (macOS): ask ps.
    try {
      return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' })
    } catch {
      return undefined
    }
  }
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
