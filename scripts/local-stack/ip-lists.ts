import { readFile, readdir } from 'node:fs/promises'
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'

/**
 * A local server of the IP reputation lists: serves the files in `scripts/local-stack/ip-lists/`
 * at `/<file name>` as `text/plain`, as FireHOL's and StopForumSpam's sites serve theirs, so the
 * Worker's refresh cron downloads them exactly as in production, from 127.0.0.1. Tests can
 * replace a list's body (`PUT /<file name>`) to exercise a refresh, and make a list slow or
 * failing (`?status=`, not needed by the Worker).
 *
 * @example
 * const lists = await startIpListServer()
 * // IP_REPUTATION_LISTS = lists.setting  → "firehol_abusers_30d=http://127.0.0.1:P/firehol_abusers_30d.netset,…"
 * await lists.close()
 */
export async function startIpListServer(opts: { dir?: string; port?: number } = {}) {
  const dir = opts.dir ?? join(import.meta.dirname, 'ip-lists')
  const bodies = new Map<string, string>()
  for (const name of await readdir(dir)) bodies.set(name, await readFile(join(dir, name), 'utf8'))

  const server: Server = createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1))
    if (req.method === 'PUT') {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        bodies.set(name, Buffer.concat(chunks).toString('utf8'))
        res.writeHead(204).end()
      })
      return
    }
    const body = bodies.get(name)
    if (req.method !== 'GET' || body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found')
      return
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const names = [...bodies.keys()].sort()
  return {
    url,
    /** The IP_REPUTATION_LISTS value naming every served file (list name = file name sans extension). */
    setting: names.map((n) => `${n.replace(/\.[^.]+$/, '')}=${url}/${n}`).join(','),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
