import { cpus, loadavg } from 'node:os'
import jpegJs from 'jpeg-js'
import { encodeBlurhash } from '../src/lib/codecs/blurhash'
import { readImageHeader, withoutOrientation } from '../src/lib/codecs/image-header'
import { decodePng } from '../src/lib/codecs/png-pixels'
import { startRapport } from '../scripts/dev'
import { benchRun, signIn } from './client'
import { type Profile, cpuMs, descendants, parents, profile, workerdProcesses } from './profile'

/**
 * `npm run bench:photos`: one 12-megapixel phone photo (4000 × 3000 JPEG, EXIF "rotate 90°")
 * through `PUT /api/v1/me/photos/1` on `wrangler dev` — sniffing, hashing, the original/900/450
 * variants and the 32 × 32 blurhash render on the local Images binding, three R2 puts and the
 * row — `BENCH_UPLOADS` times (default 10), one at a time, after a warm-up.
 *
 * The Worker cannot time its own CPU: in workerd, performance.now() and Date.now() do not advance
 * during synchronous work. So it is measured from outside, two ways:
 *
 * 1. Process CPU (utime + stime from /proc/<pid>/stat) of the workerd process that runs the
 *    Worker. `wrangler dev` runs two workerd processes: a proxy on the public port (local only,
 *    reported apart) and the runtime with the Worker, found as the one whose DevTools endpoint
 *    lists `core:user:rapport`. The local Images binding is not in it — Miniflare forwards image
 *    work over its loopback to sharp in wrangler's Node process (reported apart) — but the local
 *    R2 simulator and the binding's plumbing are, so this is an upper bound on the Worker's CPU.
 * 2. A V8 CPU profile of the Worker's isolate over the same uploads, taken through that
 *    runtime's own DevTools endpoint (not wrangler's :9229 proxy, which another `wrangler dev` on
 *    the machine may own). Samples whose stack is inside the binding's client code
 *    (`cloudflare-internal:images-api` / `streaming-forms`, which run in the Worker's isolate and
 *    stream the upload to the service) are separated from the Worker's own; idle samples are
 *    dropped. Sample count × the 1 ms interval estimates on-CPU time (the sample timestamps would
 *    also count time the thread waited for a core on a busy machine).
 *
 * Also reported: the same for a trivial authenticated request (GET /api/v1/me/photos) as the
 * floor, and the Worker's size-dependent pure-JS steps timed in Node's V8 on the same bytes.
 */
const port = 8990 + Math.floor(Math.random() * 9)
const uploads = Number(process.env.BENCH_UPLOADS ?? 10)
const samplingMicros = 1000

/** A photo-like 4000 × 3000 JPEG: smooth gradients, mild noise, quality 85, EXIF orientation 6. */
function phonePhoto(): Uint8Array<ArrayBuffer> {
  const width = 4000
  const height = 3000
  const data = new Uint8Array(width * height * 4)
  let seed = 42
  const noise = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 17) - 8
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4
      data[o] = Math.max(0, Math.min(255, (x / width) * 200 + 30 + noise()))
      data[o + 1] = Math.max(0, Math.min(255, (y / height) * 180 + 40 + noise()))
      data[o + 2] = Math.max(0, Math.min(255, 128 + 90 * Math.sin((x + y) / 300) + noise()))
      data[o + 3] = 255
    }
  }
  // "Exif\0\0", big-endian TIFF, one IFD entry: Orientation (SHORT) = 6.
  const exif = new Uint8Array([
    0x45, 0x78, 0x69, 0x66, 0, 0, 0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0,
    0, 0, 0, 0, 0,
  ])
  return new Uint8Array(jpegJs.encode({ width, height, data, exifBuffer: exif } as never, 85).data)
}

/** Estimated on-CPU milliseconds of the isolate by what it was doing: the Worker, or the binding's client. */
function breakdown(p: Profile): { worker: number; binding: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = parents(p)
  const out = { worker: 0, binding: 0 }
  for (const sample of p.samples) {
    if (byId.get(sample)!.callFrame.functionName === '(idle)') continue
    let inBinding = false
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      if (/cloudflare-internal:(images-api|streaming-forms)/.test(byId.get(id)!.callFrame.url))
        inBinding = true
    }
    out[inBinding ? 'binding' : 'worker'] += samplingMicros / 1000
  }
  return out
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const ms = (x: number) => `${x.toFixed(1)} ms`

/** A 32 × 32 RGB PNG of varied pixels, like the one the binding renders for the blurhash. */
async function thumbnailPng(): Promise<Uint8Array> {
  const { deflateSync } = await import('node:zlib')
  const raw = new Uint8Array(32 * (32 * 3 + 1))
  for (let i = 0; i < raw.length; i++) raw[i] = i % 97 === 0 ? 0 : (i * 37) % 256
  for (let y = 0; y < 32; y++) raw[y * (32 * 3 + 1)] = 0
  const chunk = (type: string, data: Uint8Array) => {
    const out = Buffer.alloc(12 + data.length)
    out.writeUInt32BE(data.length, 0)
    out.write(type, 4, 'latin1')
    Buffer.from(data).copy(out, 8)
    return out
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(32, 0)
  ihdr.writeUInt32BE(32, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', new Uint8Array()),
    ]),
  )
}

/** The Worker's size-dependent JS steps, in Node's V8 on the same bytes: median of 20 warm runs. */
async function pureJsSteps(photo: Uint8Array<ArrayBuffer>) {
  const png = await thumbnailPng()
  const time = async (fn: () => unknown) => {
    for (let i = 0; i < 5; i++) await fn()
    const runs: number[] = []
    for (let i = 0; i < 20; i++) {
      const start = performance.now()
      await fn()
      runs.push(performance.now() - start)
    }
    return median(runs)
  }
  const header = readImageHeader(photo)
  return {
    header: await time(() => readImageHeader(photo)),
    orientation: await time(() => withoutOrientation(photo, header)),
    sha256: await time(() => crypto.subtle.digest('SHA-256', photo)),
    blurhash: await time(async () => {
      const pixels = await decodePng(png)
      encodeBlurhash(pixels.data, pixels.width, pixels.height, 4, 4)
    }),
  }
}

await benchRun('rapport-bench-photos-', async (run) => {
  console.log('[bench] encoding a 4000 × 3000 JPEG …')
  const photo = phonePhoto()
  console.log(`[bench] ${(photo.length / 1024 / 1024).toFixed(2)} MB`)

  const rapport = await startRapport({
    port,
    dataDir: run.dir,
    databaseUrl: process.env.DATABASE_URL,
    redisUrl: process.env.REDIS_URL,
    embeddedRedis: process.env.EMBEDDED_REDIS,
    vars: { DEFAULT_RATE_LIMIT_LIMIT: '1000000', LOG_LEVEL: 'warn' },
    wranglerOutput: run.logFd,
    log: (line) => console.log(`[bench] ${line}`),
  })
  run.stop = rapport.stop
  const workerd = await workerdProcesses(port)
  console.log(
    `[bench] workerd: runtime ${workerd.runtime}, proxy ${workerd.proxy}, DevTools ${workerd.inspector}`,
  )
  const nodes = descendants().filter((p) => p.comm.startsWith('node'))

  const token = await signIn(rapport.url)
  const headers = { Authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' }
  const walls: number[] = []
  const put = async () => {
    const start = performance.now()
    const res = await fetch(`${rapport.url}/api/v1/me/photos/1`, { method: 'PUT', headers, body: photo })
    const body = (await res.json()) as { width?: number; height?: number; blurhash?: string }
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`upload answered ${res.status}: ${JSON.stringify(body)}`)
    if (body.width !== 3000 || body.height !== 4000)
      throw new Error(`unexpected size ${body.width}×${body.height}`)
    walls.push(performance.now() - start)
  }
  const list = async () => {
    const res = await fetch(`${rapport.url}/api/v1/me/photos`, {
      headers: { Authorization: headers.Authorization },
    })
    if (res.status !== 200) throw new Error(`list answered ${res.status}`)
    await res.arrayBuffer()
  }
  const measure = async (n: number, request: () => Promise<void>) => {
    const before = { runtime: cpuMs(workerd.runtime), proxy: cpuMs(workerd.proxy) }
    const nodeBefore = nodes.reduce((t, p) => t + cpuMs(p.pid), 0)
    const own = process.cpuUsage()
    const prof = await profile(
      workerd.inspector,
      async () => {
        for (let i = 0; i < n; i++) await request()
      },
      samplingMicros,
    )
    const used = process.cpuUsage(own)
    const isolate = breakdown(prof)
    return {
      runtime: (cpuMs(workerd.runtime) - before.runtime) / n,
      proxy: (cpuMs(workerd.proxy) - before.proxy) / n,
      node: (nodes.reduce((t, p) => t + cpuMs(p.pid), 0) - nodeBefore) / n,
      bench: (used.user + used.system) / 1000 / n,
      worker: isolate.worker / n,
      binding: isolate.binding / n,
    }
  }

  // Warm-up: compile the code paths, open connections, load sharp.
  for (let i = 0; i < 2; i++) await put()
  for (let i = 0; i < 5; i++) await list()
  walls.length = 0

  const up = await measure(uploads, put)
  const floor = await measure(uploads * 5, list)
  const steps = await pureJsSteps(photo)

  console.log(
    `\n${uploads} uploads of a ${(photo.length / 1024 / 1024).toFixed(2)} MB 4000 × 3000 JPEG (EXIF orientation 6), ` +
      `one at a time; ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}; ` +
      `${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PGlite'}, ${process.env.REDIS_URL ? 'REDIS_URL' : 'embedded Redis'}`,
  )
  console.log(
    `wall per upload: median ${ms(median(walls))}, min ${ms(Math.min(...walls))}, max ${ms(Math.max(...walls))}`,
  )
  console.log(
    `CPU per upload, workerd running the Worker (upper bound: also the R2 simulator and binding plumbing): ${ms(up.runtime)}`,
  )
  console.log(
    `  Worker isolate by V8 profile: own code ${ms(up.worker)}, Images binding client ${ms(up.binding)}`,
  )
  console.log(
    `  elsewhere: wrangler's proxy workerd ${ms(up.proxy)} (local only), wrangler's Node with sharp ${ms(up.node)}, ` +
      `this process (DB/Redis stand-ins) ${ms(up.bench)}`,
  )
  console.log(
    `CPU per GET /api/v1/me/photos (floor of an authenticated request): workerd ${ms(floor.runtime)}, ` +
      `Worker isolate by profile ${ms(floor.worker)}`,
  )
  console.log(
    `Worker JS steps in Node's V8 (median of 20): header walk ${ms(steps.header)}, orientation rewrite (copy) ${ms(steps.orientation)}, ` +
      `SHA-256 ${ms(steps.sha256)}, 32 × 32 PNG decode + blurhash ${ms(steps.blurhash)}`,
  )
  if (up.worker >= 50) {
    console.error("the Worker's own CPU per upload is 50 ms or more (target: under 50 ms)")
    process.exitCode = 1
  }
})
