import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import WebSocket from 'ws'

/**
 * Measuring the user Worker from outside `wrangler dev`: its processes, their CPU time, and V8
 * CPU profiles of the Worker's isolate through wrangler's DevTools inspector proxy. Shared by the
 * benches (`bench/photo-upload.ts`, `bench/me-vs-health.ts`).
 */

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())
export const workerTarget = 'core:user:rapport'

export interface Proc {
  pid: number
  comm: string
}

/** Every process below this one, from /proc. */
export function descendants(): Proc[] {
  const parent = new Map<number, number>()
  const comm = new Map<number, string>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      comm.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close))
      parent.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]))
    } catch {
      // exited meanwhile
    }
  }
  const out: Proc[] = []
  for (const [pid, name] of comm) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        out.push({ pid, comm: name })
        break
      }
    }
  }
  return out
}

/** TCP ports a process listens on: its socket inodes matched against /proc/<pid>/net/tcp{,6}. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`)
      if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1))
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = []
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      // State 0A = LISTEN; field 9 is the inode.
      if (f[3] === '0A' && inodes.has(f[9]!)) ports.push(parseInt(f[1]!.split(':')[1]!, 16))
    }
  }
  return ports
}

/**
 * The two workerd processes of `wrangler dev`: the runtime that runs the Worker (its DevTools
 * endpoint lists `core:user:rapport`) and the proxy on the public port, which also serves
 * wrangler's DevTools proxy. workerd allows one DevTools session per isolate and wrangler's proxy
 * holds it, so profiling goes through that proxy — found among the proxy process's own
 * listening ports, not assumed to be :9229 (another `wrangler dev` on the machine may have it).
 */
export async function workerdProcesses(
  publicPort: number,
): Promise<{ runtime: number; proxy: number; inspector: string }> {
  const json = async (port: number) => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(1000) })
      return res.ok ? ((await res.json()) as { id: string; webSocketDebuggerUrl: string }[]) : undefined
    } catch {
      return undefined
    }
  }
  let runtime: number | undefined
  let proxy: { pid: number; inspector: string } | undefined
  for (const { pid } of descendants().filter((p) => p.comm === 'workerd')) {
    const ports = listeningPorts(pid)
    if (ports.includes(publicPort)) {
      for (const port of ports.filter((p) => p !== publicPort)) {
        const target = (await json(port))?.[0]
        if (target) proxy = { pid, inspector: target.webSocketDebuggerUrl }
      }
    } else {
      for (const port of ports) {
        if ((await json(port))?.some((t) => t.id === workerTarget)) runtime = pid
      }
    }
  }
  if (runtime === undefined || !proxy) throw new Error("could not find wrangler dev's workerd processes")
  return { runtime, proxy: proxy.pid, inspector: proxy.inspector }
}

/** User + system CPU of a process, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) / clockTicks) * 1000
}

export interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber?: number; columnNumber?: number }
  children?: number[]
}
export interface Profile {
  nodes: ProfileNode[]
  samples: number[]
}

/** A minimal DevTools-protocol client: Profiler.start … stop around `work`, sampling every `samplingMicros`. */
export async function profile(
  inspector: string,
  work: () => Promise<void>,
  samplingMicros = 1000,
): Promise<Profile> {
  const ws = new WebSocket(inspector)
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  let nextId = 0
  const pending = new Map<number, (result: unknown) => void>()
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown }
    if (message.id === undefined) return
    pending.get(message.id)?.(message.result)
    pending.delete(message.id)
  })
  let closed: Error | undefined
  ws.on('close', () => {
    closed = new Error('the DevTools connection closed')
    for (const reject of pending.values()) reject(closed)
  })
  const send = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) => {
      if (closed) return reject(closed)
      const id = ++nextId
      pending.set(id, (result) => (result instanceof Error ? reject(result) : resolve(result)))
      ws.send(JSON.stringify({ id, method, params }))
    })
  try {
    await send('Profiler.enable')
    await send('Profiler.setSamplingInterval', { interval: samplingMicros })
    await send('Profiler.start')
    await work()
    return ((await send('Profiler.stop')) as { profile: Profile }).profile
  } finally {
    ws.close()
  }
}

/** Parent of every node id. */
export function parents(p: Profile): Map<number, number> {
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const child of n.children ?? []) parent.set(child, n.id)
  return parent
}

const shortUrl = (url: string) => url.replace(/^.*\/(node_modules|src)\//, '$1/')
type Frame = ProfileNode['callFrame']
export type FrameNamer = (f: Frame) => string
const frameName: FrameNamer = (f) =>
  `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url ? `:${(f.lineNumber ?? 0) + 1}` : ''}`

/**
 * Names frames of the (minified) bundle `wrangler dev` is running by its source map: the newest
 * `.wrangler/tmp/<dir>/index.js.map` under `root`, read while wrangler runs (it deletes the
 * directory on exit). Falls back to the minified names when there is no map or no mapper
 * (source-map-js comes with vite, not as a dependency of its own).
 */
export async function bundleFrameNamer(root: string): Promise<FrameNamer> {
  try {
    const tmp = join(root, '.wrangler/tmp')
    const dirs = readdirSync(tmp)
      .map((d) => join(tmp, d, 'index.js.map'))
      .filter((f) => existsSync(f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
    if (!dirs[0]) return frameName
    const { SourceMapConsumer } = (await import('source-map-js' as string)) as {
      SourceMapConsumer: new (map: unknown) => {
        originalPositionFor(p: { line: number; column: number }): {
          source: string | null
          line: number | null
          name: string | null
        }
      }
    }
    const map = new SourceMapConsumer(JSON.parse(readFileSync(dirs[0], 'utf8')))
    return (f) => {
      if (!f.url.endsWith('index.js') || f.lineNumber === undefined) return frameName(f)
      const o = map.originalPositionFor({ line: f.lineNumber + 1, column: f.columnNumber ?? 0 })
      if (!o.source) return frameName(f)
      return `${o.name ?? f.functionName ?? '(anonymous)'} ${shortUrl(o.source)}:${o.line}`
    }
  } catch {
    return frameName
  }
}

/**
 * The hottest functions of a profile: self samples (the function itself was on top) and total
 * samples (anywhere on the stack, counted once per sample), each as a share of the non-idle
 * samples. `(program)` and `(garbage collector)` are V8's own work.
 */
export function hotFunctions(
  p: Profile,
  top = 25,
  name: FrameNamer = frameName,
): { busy: number; self: [string, number][]; total: [string, number][] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = parents(p)
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  let busy = 0
  for (const sample of p.samples) {
    const node = byId.get(sample)!
    if (node.callFrame.functionName === '(idle)') continue
    busy++
    const self1 = name(node.callFrame)
    self.set(self1, (self.get(self1) ?? 0) + 1)
    const seen = new Set<string>()
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      const n = name(byId.get(id)!.callFrame)
      if (seen.has(n)) continue
      seen.add(n)
      total.set(n, (total.get(n) ?? 0) + 1)
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
  return { busy, self: sorted(self), total: sorted(total) }
}
